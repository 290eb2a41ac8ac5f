using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.MetaKD;

/// <summary>
/// Meta-KD's domain representation (docs/metakd.md §Meta-teacher, §Meta-distillation; official MetaTeacherForSequenceClassification):
/// h_dom = W_d (E_dom[k] + mean_{t≥1} H_L), i.e. a learned domain embedding plus the mean of the last-layer states
/// after [CLS], through one Linear. The teacher puts tanh, dropout and a K-way domain classifier on top (trained
/// against corrupted domain labels); the student matches the teacher's h_dom in stage 1 (the transferable domain
/// knowledge term). Kept outside BertForSequenceClassification so teachers and students stay plain model folders.
/// </summary>
public sealed class DomainHead : nn.Module
{
    public readonly Embedding domain_embedding;
    public readonly Linear domain_dense;

    public DomainHead(int domains, int hidden) : base(nameof(DomainHead))
    {
        domain_embedding = nn.Embedding(domains, hidden);
        domain_dense = nn.Linear(hidden, hidden);
        RegisterComponents();
    }

    /// <summary>(B, T, H) last hidden states, (B, T) mask, (B,) domain ids -> (B, H) pre-activation h_dom.</summary>
    public Tensor forward(Tensor lastHidden, Tensor attentionMask, Tensor domains)
    {
        using var scope = NewDisposeScope();
        var pooled = MeanAfterCls(lastHidden, attentionMask);
        return domain_dense.forward(domain_embedding.forward(domains) + pooled).MoveToOuterDisposeScope();
    }

    /// <summary>Mean of the valid token states after [CLS] (positions 1..): (B, T, H), (B, T) -> (B, H).
    /// Shared by the prototype embeddings h(x) and h_dom, as in the official code (which also skips [CLS]).</summary>
    public static Tensor MeanAfterCls(Tensor hidden, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var m = attentionMask.to(hidden.dtype).clone();
        m.select(1, 0).fill_(0); // drop [CLS]
        m = m.unsqueeze(-1); // (B, T, 1)
        return ((hidden * m).sum(1) / m.sum(1).clamp_min(1)).MoveToOuterDisposeScope();
    }
}

/// <summary>The meta-teacher's domain branch: dlogits = W_z · Dropout(tanh(h_dom)) (K-way).</summary>
public sealed class MetaTeacherHead : nn.Module
{
    public readonly DomainHead domain;
    public readonly Linear domain_classifier;
    readonly Dropout dropout;

    public MetaTeacherHead(int domains, int hidden, double dropoutProb) : base(nameof(MetaTeacherHead))
    {
        domain = new DomainHead(domains, hidden);
        domain_classifier = nn.Linear(hidden, domains);
        dropout = nn.Dropout(dropoutProb);
        RegisterComponents();
    }

    /// <summary>(B, H) h_dom -> (B, K) domain logits.</summary>
    public Tensor DomainLogits(Tensor representation) => domain_classifier.forward(dropout.forward(representation.tanh()));

    /// <summary>
    /// The domain-corruption targets: the batch's own domain ids in a random order (official: domain_ids[randperm(B)]).
    /// The classifier cannot learn a shuffled target from the input, so its loss drives the encoder towards features
    /// that do not tell domains apart (the feature-level transferable knowledge).
    /// </summary>
    public static Tensor CorruptDomains(Tensor domains, Generator? generator = null)
    {
        var perm = randperm(domains.shape[0], generator: generator, device: domains.device);
        return domains.index_select(0, perm);
    }
}

/// <summary>The student's domain branch for stage 1: h_dom^S = W_d^S(E^S[k] + mean H^S_L), mapped to the teacher width by fit_dense.</summary>
public sealed class StudentDomainHead : nn.Module
{
    public readonly DomainHead domain;
    public readonly Linear fit_dense;

    public StudentDomainHead(int domains, int studentHidden, int teacherHidden) : base(nameof(StudentDomainHead))
    {
        domain = new DomainHead(domains, studentHidden);
        fit_dense = nn.Linear(studentHidden, teacherHidden);
        RegisterComponents();
    }

    /// <summary>(B, T, H_s), (B, T), (B,) -> (B, H_t).</summary>
    public Tensor forward(Tensor lastHidden, Tensor attentionMask, Tensor domains) => fit_dense.forward(domain.forward(lastHidden, attentionMask, domains));
}
