using Distil.Checkpoints;
using Distil.Models;
using Distil.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Labels;

/// <summary>
/// A classifier folder run by TorchSharp, eval mode, no grad: loaded from its folder (owned, on the CPU), or a
/// command's teacher already in memory (borrowed, on its device; its train/eval mode is restored after each batch).
/// </summary>
public sealed class TorchLabelTeacher : ILabelTeacher
{
    readonly EncoderClassifier model;
    readonly bool owned;
    readonly Device device = CPU;
    public LabelSpec Spec { get; }
    public TextTokenizer Tokenizer { get; }

    public TorchLabelTeacher(string dir, int maxSeqLen, IReadOnlyList<int>? hiddenLayers = null)
    {
        if (!File.Exists(Path.Combine(dir, ModelFolder.ConfigFile))) throw DistilException.NotFound($"{dir}: no config.json; --teacher must be a fine-tuned classifier folder (e.g. runs/ft/best)");
        model = ModelFolder.LoadEncoderClassifier(dir);
        model.eval();
        owned = true;
        Tokenizer = TokenizerFolder.Load(dir);
        Spec = MakeSpec(dir, model.Shape, maxSeqLen, hiddenLayers);
    }

    /// <summary>The teacher a command has loaded from <paramref name="dir"/> (the files name the store key); not disposed with this.</summary>
    public TorchLabelTeacher(string dir, EncoderClassifier teacher, TextTokenizer tokenizer, int maxSeqLen, Device device)
    {
        model = teacher;
        this.device = device;
        Tokenizer = tokenizer;
        Spec = MakeSpec(dir, teacher.Shape, maxSeqLen, null);
    }

    static LabelSpec MakeSpec(string dir, BertConfig shape, int maxSeqLen, IReadOnlyList<int>? hiddenLayers)
    {
        var layers = (hiddenLayers ?? []).Distinct().Order().ToArray();
        foreach (int l in layers)
            if (l < 0 || l > shape.NumHiddenLayers) throw DistilException.Usage($"hidden layer {l} does not exist: the teacher {dir} has layers 0..{shape.NumHiddenLayers} (0 = embedding output)");
        return new LabelSpec
        {
            TeacherKey = LabelSpec.HashFiles(dir, [ModelFolder.ConfigFile, ModelFolder.WeightsFile, "pytorch_model.bin"]),
            TokenizerKey = TokenizerKey(dir),
            Engine = "torch",
            MaxSeqLen = maxSeqLen,
            Labels = shape.Labels,
            HiddenLayers = layers,
            HiddenSize = layers.Length > 0 ? shape.HiddenSize : 0,
            TeacherPath = Path.GetFullPath(dir),
        };
    }

    /// <summary>The files that decide how text becomes ids.</summary>
    public static string TokenizerKey(string dir) => LabelSpec.HashFiles(dir, ["tokenizer.json", "vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "spm.model", "tokenizer_config.json", "special_tokens_map.json"]);

    public TeacherOutput Run(IReadOnlyList<TokenizedInput> batch)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        bool wasTraining = model.training;
        if (wasTraining) model.eval();
        int b = batch.Count, t = batch.Max(r => r.Length);
        var ids = new long[b * t];
        var mask = new long[b * t];
        var types = new long[b * t];
        Array.Fill(ids, (long)Tokenizer.Pad);
        for (int i = 0; i < b; i++)
        {
            Array.Copy(batch[i].InputIds, 0, ids, i * t, batch[i].Length);
            Array.Copy(batch[i].TokenTypeIds, 0, types, i * t, batch[i].Length);
            Array.Fill(mask, 1L, i * t, batch[i].Length);
        }
        var inputs = new BertInputs(tensor(ids).view(b, t).to(device), tensor(mask).view(b, t).to(device), tensor(types).view(b, t).to(device)); // (B, T)
        bool wantHidden = Spec.HiddenLayers.Count > 0;
        var output = model.forward(inputs, new OutputRequest(HiddenStates: wantHidden));
        if (wasTraining) model.train();
        var flat = output.Logits.cpu().contiguous().data<float>().ToArray(); // (B, C)
        int c = (int)output.Logits.shape[1];
        var logits = Enumerable.Range(0, b).Select(i => flat.AsSpan(i * c, c).ToArray()).ToArray();
        var hidden = new Dictionary<int, Half[][]>();
        foreach (int l in Spec.HiddenLayers)
        {
            var states = output.Encoder.HiddenStates![l].cpu().to(float16).contiguous(); // (B, T, H)
            var all = states.data<Half>().ToArray();
            int h = (int)states.shape[2];
            hidden[l] = Enumerable.Range(0, b).Select(i => all.AsSpan(i * t * h, batch[i].Length * h).ToArray()).ToArray();
        }
        return new TeacherOutput(logits, hidden);
    }

    public void Dispose()
    {
        if (owned) model.Dispose();
    }
}
