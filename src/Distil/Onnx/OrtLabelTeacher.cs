using Distil.Checkpoints;
using Distil.Labels;
using Distil.Models;
using Distil.Text;

namespace Distil.Onnx;

/// <summary>
/// An exported teacher folder (model.onnx + config.json + tokenizer files, made and checked by `distil export`, or
/// its `distil quantize` int8 copy) labelling through ONNX Runtime. Logits only: the export has no hidden-state
/// outputs, so a store that keeps hidden states needs the TorchSharp teacher.
/// </summary>
public sealed class OrtLabelTeacher : ILabelTeacher
{
    readonly OrtClassifier ort;
    public LabelSpec Spec { get; }
    public TextTokenizer Tokenizer { get; }

    /// <param name="engine">onnx-fp32 or onnx-int8: part of the store key (their logits differ).</param>
    public OrtLabelTeacher(string dir, string engine, int maxSeqLen, int threads)
    {
        string onnx = Path.Combine(dir, OnnxExport.OnnxFile);
        ort = new OrtClassifier(onnx, threads);
        var config = BertConfig.Load(Path.Combine(dir, ModelFolder.ConfigFile));
        Tokenizer = TokenizerFolder.Load(dir);
        Spec = new LabelSpec
        {
            TeacherKey = LabelSpec.HashFiles(dir, [OnnxExport.OnnxFile, ModelFolder.ConfigFile]),
            TokenizerKey = TorchLabelTeacher.TokenizerKey(dir),
            Engine = engine,
            MaxSeqLen = maxSeqLen,
            Labels = config.Labels,
            TeacherPath = Path.GetFullPath(dir),
        };
    }

    public TeacherOutput Run(IReadOnlyList<TokenizedInput> batch)
    {
        var (ids, mask, types, len) = OrtClassifier.Pad(batch.Select(r => (r.InputIds, r.TokenTypeIds)).ToArray(), Tokenizer.Pad);
        return new TeacherOutput(ort.Run(ids, mask, types, batch.Count, len), new Dictionary<int, Half[][]>());
    }

    public void Dispose() => ort.Dispose();
}
