using System.Text;
using System.Text.Json;
using Distil.Checkpoints;

namespace Distil.Onnx;

/// <summary>Writes an ONNX BERT encoder as a Hugging Face BertModel folder (config.json, model.safetensors, vocab.txt, tokenizer_config.json).</summary>
public static class OnnxFolderImporter
{
    /// <summary>
    /// Imports <paramref name="onnxPath"/> into <paramref name="outDir"/>. An existing folder is replaced atomically
    /// (<see cref="AtomicFolder"/>), so an interrupted import leaves no half-written model folder. Returns the import (the caller disposes its tensors).
    /// </summary>
    public static OnnxBertImport ImportOnnxToFolder(string onnxPath, string vocabPath, string outDir, bool doLowerCase = true)
    {
        if (!File.Exists(vocabPath)) throw DistilException.NotFound($"{vocabPath}: vocab.txt not found");
        var import = OnnxBertImporter.Import(onnxPath);
        try
        {
            AtomicFolder.Replace(outDir, tmp =>
            {
                File.WriteAllText(Path.Combine(tmp, "config.json"), import.Config.ToJson());
                // Keys without "bert.", as HF saves a bare BertModel; StateDictLoader adds the prefix when needed.
                SafeTensors.Write(Path.Combine(tmp, "model.safetensors"), import.StateDict);
                string vocab = File.ReadAllText(vocabPath, Encoding.UTF8).Replace("\r\n", "\n");
                int lines = vocab.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
                if (lines != import.Config.VocabSize)
                    throw DistilException.BadInput($"{vocabPath}: has {lines} tokens but the model's word embedding has {import.Config.VocabSize} rows; use the vocab.txt that belongs to {onnxPath}");
                File.WriteAllText(Path.Combine(tmp, "vocab.txt"), vocab, new UTF8Encoding(false));
                var tokCfg = new Dictionary<string, object> { ["do_lower_case"] = doLowerCase, ["tokenizer_class"] = "BertTokenizer", ["model_max_length"] = import.Config.MaxPositionEmbeddings };
                File.WriteAllText(Path.Combine(tmp, "tokenizer_config.json"), JsonSerializer.Serialize(tokCfg, new JsonSerializerOptions { WriteIndented = true }));
            });
            return import;
        }
        catch
        {
            foreach (var t in import.StateDict.Values) t.Dispose();
            throw;
        }
    }
}
