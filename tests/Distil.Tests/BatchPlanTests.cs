using Distil.Data;
using Xunit;

namespace Distil.Tests;

public class BatchPlanTests
{
    [Fact]
    public void EveryEpochCoversEveryIndexOnceInBatchesOfB()
    {
        var plan = new BatchPlan(count: 103, batchSize: 10, seed: 42);
        Assert.Equal(11, plan.BatchesPerEpoch);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var batches = plan.Batches(epoch);
            Assert.Equal(11, batches.Count);
            Assert.All(batches.Take(10), b => Assert.Equal(10, b.Length));
            Assert.Equal(3, batches[10].Length);
            Assert.Equal(Enumerable.Range(0, 103), batches.SelectMany(b => b).Order());
        }
    }

    [Fact]
    public void SameSeedAndEpochGiveTheSameOrderOthersDiffer()
    {
        var a = new BatchPlan(200, 8, seed: 7);
        var b = new BatchPlan(200, 8, seed: 7);
        Assert.Equal(a.Order(3), b.Order(3));
        Assert.NotEqual(a.Order(0), a.Order(1));
        Assert.NotEqual(a.Order(0), new BatchPlan(200, 8, seed: 8).Order(0));
        Assert.NotEqual(Enumerable.Range(0, 200), a.Order(0)); // actually shuffled
        // Torch's RNG plays no part in the order.
        TorchSharp.torch.manual_seed(123);
        var before = a.Order(2);
        TorchSharp.torch.manual_seed(999);
        Assert.Equal(before, a.Order(2));
    }

    [Fact]
    public void ResumingAtABatchGivesTheRemainingBatches()
    {
        var plan = new BatchPlan(50, 7, seed: 1);
        var all = plan.Batches(4);
        var resumed = new BatchPlan(50, 7, seed: 1).From(epoch: 4, startBatch: 3).ToList();
        Assert.Equal(Enumerable.Range(3, all.Count - 3), resumed.Select(r => r.BatchIndex));
        Assert.Equal(all.Skip(3), resumed.Select(r => r.Indices));
        Assert.Empty(plan.From(4, plan.BatchesPerEpoch));
    }

    [Fact]
    public void WithoutShuffleTheOrderIsTheFileOrder()
    {
        var plan = new BatchPlan(5, 2, seed: 3, shuffle: false);
        Assert.Equal(new[] { new[] { 0, 1 }, new[] { 2, 3 }, new[] { 4 } }, plan.Batches(9));
        Assert.Equal(ExitCodes.InvalidUsage, Assert.Throws<DistilException>(() => new BatchPlan(5, 0, 1)).ExitCode);
    }
}
