using Distil.Text;

namespace Distil.Distillation;

/// <summary>
/// Distillation between two vocabularies (a RoBERTa teacher's byte-level BPE, a BERT student's WordPiece): each side
/// tokenises the text itself, so the same sentence is a different number of tokens on each side and token i of the
/// teacher is not token i of the student. What still lines up is per sentence: the logits, the gold labels and the
/// first token's state ([CLS] / &lt;s&gt;: cls_hidden). Every other match compares token positions (hidden states,
/// embeddings) or token-by-token maps (attention, MiniLM's relations) and is refused before training.
/// </summary>
public static class CrossVocabulary
{
    /// <summary>Features whose tensors have one row per sentence, so they compare across vocabularies.</summary>
    public static readonly IReadOnlySet<string> SentenceLevel = new HashSet<string>(StringComparer.Ordinal)
    {
        MatchFeatures.Logits, MatchFeatures.Labels, MatchFeatures.ClsHidden,
    };

    /// <summary>Whether two tokenizers give the same ids for every text: the same vocabulary, token by token, and the same kind.</summary>
    public static bool SameVocabulary(TextTokenizer a, TextTokenizer b) =>
        a.GetType() == b.GetType() && a.VocabSize == b.VocabSize && Enumerable.Range(0, a.VocabSize).All(i => a.IdToToken(i) == b.IdToToken(i));

    /// <summary>Refuses, before any training, a plan with a token-level match between different vocabularies, naming the match and why.</summary>
    public static void CheckPlan(DistillationPlan plan, TextTokenizer teacher, TextTokenizer student)
    {
        for (int k = 0; k < plan.Stages.Count; k++)
            foreach (var m in plan.Stages[k])
                if (!SentenceLevel.Contains(m.Feature))
                    throw DistilException.Usage(
                        $"{(plan.Stages.Count > 1 ? $"stage {k + 1} of " : "")}preset '{plan.Name}': the match {m.Feature}/{m.Loss} (teacher layer {m.TeacherLayer} -> student layer {m.StudentLayer}) " +
                        $"compares token positions, but the teacher ({teacher.ModelType} tokenizer, {teacher.VocabSize} tokens) and the student ({student.ModelType} tokenizer, " +
                        $"{student.VocabSize} tokens) split the text differently, so token i of one is not token i of the other. Across vocabularies only sentence-level " +
                        $"matches work ({string.Join(", ", SentenceLevel)}): use --preset kd, or matches of those features");
    }
}
