"""Re-saves a folder's model.safetensors as pytorch_model.bin with torch.save (the zip + pickle format
save_pretrained wrote before safetensors), so tests can make bin-only folders the way users have them.
Usage: to_bin.py FOLDER  (writes FOLDER/pytorch_model.bin; the caller removes model.safetensors)"""
import os
import sys
from collections import OrderedDict

import torch

import safetensors_io

folder = sys.argv[1]
tensors = safetensors_io.load(os.path.join(folder, "model.safetensors"))
torch.save(OrderedDict(sorted(tensors.items())), os.path.join(folder, "pytorch_model.bin"))
