using System.CommandLine;

namespace Distil.Cli;

/// <summary>
/// One meaning per option name. An option that several commands take starts its help text with the meaning below,
/// whatever the command adds after it (its default, what it does with the value), so `--teacher` or `--init` never
/// means one thing in one command and another thing in the next. CliOptionTests walks the command tree and fails on
/// an option name whose commands describe it differently without an entry here.
/// </summary>
public static class OptionMeanings
{
    public static readonly IReadOnlyDictionary<string, string> Meaning = new Dictionary<string, string>
    {
        // Models. --model is the model a command starts from or works on; --teacher is always a fine-tuned classifier.
        ["--model"] = "The model the command starts from or works on",
        ["--teacher"] = "Fine-tuned teacher: a classifier folder with labels (config.json, model.safetensors, vocab.txt; e.g. runs/ft/best)",
        ["--student"] = "Student shape L<layers>-H<hidden>[-A<heads>][-I<ffn>]",
        ["--init"] = "Student start: random, teacher (copy the embeddings and every k-th layer of --teacher; same width only) or model (the same from --model)",
        ["--pooling"] = "Classifier input of a BERT classifier: pooler ([CLS] + tanh, HF) or mean (of token states)",
        ["--temperature"] = "Softmax temperature T of the distillation terms",
        ["--data-portion"] = "Fraction of the training rows kept",
        // Augmentation (TinyBERT word replacement; in l2a also its other generators).
        ["--augment"] = "Augmentation: N augmented copies per training row",
        ["--augment-p"] = "Augmentation: probability p of replacing each replaceable word",
        ["--augment-candidates"] = "Augmentation: M candidate words per replaced word (masked-LM top-M, or nearest word embeddings)",
        ["--augment-seed"] = "Augmentation: seed of the replacement draws",
        // Teacher labels (docs/labelling.md).
        ["--transfer"] = "Transfer set: unlabelled sentences (.txt lines, or the text columns of a TSV/CSV/JSONL) labelled by the teacher and added to the training rows, or a label store from `distil label` (its logits, no teacher run); dev/test sentences and repeats are dropped",
        ["--transfer-max-rows"] = "With --transfer: keep at most N sentences, drawn at random (0 = all)",
        ["--label-store"] = "Label store the teacher's labels are read from and written to (a `distil label --out` folder of this teacher; default .distil-cache/labels-KEY next to the training data): a sentence it holds is never labelled again",
        // Data.
        ["--data"] = "Data the command reads",
        ["--format"] = "Data format: tsv, csv or jsonl (default: from the extension)",
        ["--text-column"] = "Column of the text (name or 0-based index)",
        ["--text-pair-column"] = "Column of the second text of a pair",
        ["--label-column"] = "Column of the label",
        ["--domain-column"] = "Column of the domain",
        ["--skip-bad-rows"] = "Skip malformed rows instead of stopping",
        ["--max-seq-len"] = "Tokens per example incl. [CLS]/[SEP]",
        // Extractive QA (SQuAD-format data).
        ["--doc-stride"] = "Extractive QA: context tokens shared by consecutive windows of a long context",
        ["--max-answer-length"] = "Extractive QA: longest answer in tokens",
        ["--null-threshold"] = "Extractive QA (SQuAD 2.0): answer nothing when the null score beats the best span by more than this",
        ["--task"] = "What is predicted: sequence (one label per text, default), token (a tag per word; CoNLL or JSONL tokens/tags), regression (a score) or multi-label (a set of labels, '|'-separated or a JSON list)",
        ["--threshold"] = "Multi-label: a label is predicted when its probability is at least this",
        // Running.
        ["--out"] = "Where the command writes",
        ["--resume"] = "Continue the interrupted run in --out",
        ["--epochs"] = "Training epochs",
        ["--lr"] = "Peak learning rate of AdamW",
        ["--weight-decay"] = "AdamW weight decay",
        ["--warmup-ratio"] = "Fraction of steps of linear warm-up",
        ["--eval-every"] = "Evaluate every N steps",
        ["--save-every"] = "Checkpoint every N steps",
        ["--max-steps"] = "Stop training after N optimizer steps",
        ["--batch-size"] = "Examples per batch",
        ["--seed"] = "Seed of the run's random draws",
        ["--threads"] = "CPU threads",
        ["--device"] = "Torch device: cpu or cuda[:i]",
        ["--cluster"] = "Orleans cluster to run on, by its Redis: redis://HOST:PORT (docs/cluster.md)",
        ["--lease-seconds"] = "Lease of a work item on the cluster: a worker silent this long loses it to another",
        // Deployment.
        ["--int8"] = "Int8 format: integer (DynamicQuantizeLinear + MatMulInteger), contrib (com.microsoft DynamicQuantizeMatMul) or qdq",
        ["--ort-fused"] = "Use ONNX Runtime's fused Attention and SkipLayerNormalization kernels (faster in ONNX Runtime; ONNX Runtime only)",
    };

    /// <summary>The help text of <paramref name="name"/>: its meaning, then what this command adds (a default, a use).</summary>
    public static string Describe(string name, string? detail = null) =>
        detail == null ? Meaning[name] : detail[0] is ':' or ';' or ',' ? Meaning[name] + detail : $"{Meaning[name]} {detail}";

    /// <summary>An option whose help text starts with its one meaning.</summary>
    public static Option<T> Create<T>(string name, string? detail = null) => new(name) { Description = Describe(name, detail) };
}
