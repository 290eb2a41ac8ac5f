using Distil.Text;

namespace Distil.Labels;

/// <summary>The teacher's outputs for one batch: logits per row, and per kept layer each row's (tokens, H) states in fp16.</summary>
public sealed record TeacherOutput(float[][] Logits, IReadOnlyDictionary<int, Half[][]> Hidden);

/// <summary>
/// A teacher that labels tokenized rows: TorchSharp on a model folder (<see cref="TorchLabelTeacher"/>) or ONNX
/// Runtime on a checked export (Distil.Onnx.OrtLabelTeacher). Its <see cref="Spec"/> is the store key its labels go under.
/// </summary>
public interface ILabelTeacher : IDisposable
{
    LabelSpec Spec { get; }
    TextTokenizer Tokenizer { get; }
    TeacherOutput Run(IReadOnlyList<TokenizedInput> batch);
}
