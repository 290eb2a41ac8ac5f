using Distil.Data;
using Distil.Models;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.MetaKD;

/// <summary>
/// Meta-teacher fine-tuning loss (docs/metakd.md §Meta-teacher): ℓ_i = CE(y_i, logits_i) + γ₁ · CE(z̃_i, dlogits_i), z̃ = the batch's
/// domain ids shuffled; L = (1/B) Σ_i w_i · ℓ_i with w = the prototype scores t(x). With all weights 1 and γ₁ = 0 it is
/// plain fine-tuning, which is how BERT-mix and BERT-s are trained (one code path for every teacher).
/// </summary>
public sealed class MetaTeacherObjective : IObjective<Batch>
{
    readonly BertForSequenceClassification model;
    readonly MetaTeacherHead? head;
    readonly float[] weights;
    readonly double gamma1;
    readonly Device device;

    /// <param name="weights">Per training example (indexed by Batch.Indices), e.g. prototype scores.</param>
    /// <param name="head">The domain branch; required when <paramref name="gamma1"/> &gt; 0.</param>
    public MetaTeacherObjective(BertForSequenceClassification model, MetaTeacherHead? head, IReadOnlyList<double> weights, double gamma1, Device device)
    {
        if (gamma1 > 0 && head == null) throw DistilException.Usage("the domain-corruption loss (gamma1 > 0) needs the meta-teacher's domain head");
        this.model = model;
        this.head = head;
        this.weights = weights.Select(w => (float)w).ToArray();
        this.gamma1 = gamma1;
        this.device = device;
    }

    public LossResult Compute(Batch b)
    {
        var inputs = Classifier.Inputs(b, device);
        var output = model.forward(inputs);
        var labels = b.Labels.to(device);
        var ce = F.cross_entropy(output.Logits, labels, reduction: nn.Reduction.None); // (B,)
        var terms = new Dictionary<string, double> { ["ce"] = ce.mean().item<float>() };
        var perExample = ce;
        if (gamma1 > 0)
        {
            var domains = b.Domains.to(device);
            var dlogits = head!.DomainLogits(head.domain.forward(output.Encoder.LastHiddenState, inputs.AttentionMask, domains)); // (B, K)
            var corrupted = MetaTeacherHead.CorruptDomains(domains);
            var domainCe = F.cross_entropy(dlogits, corrupted, reduction: nn.Reduction.None); // (B,)
            terms["domain_ce"] = domainCe.mean().item<float>();
            perExample = ce + gamma1 * domainCe;
        }
        var w = ExampleWeights(weights, b, device);
        terms["weight"] = w.mean().item<float>();
        return new LossResult((perExample * w).mean(), terms);
    }

    public int BatchSize(Batch b) => b.Size;

    /// <summary>The weights of the batch's rows, (B,) float32.</summary>
    public static Tensor ExampleWeights(float[] all, Batch b, Device device) => tensor(b.Indices.Select(i => all[i]).ToArray()).to(device);
}
