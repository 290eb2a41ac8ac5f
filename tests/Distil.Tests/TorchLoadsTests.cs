using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

public class TorchLoadsTests
{
    [Fact]
    public void MatmulAndBackwardWork()
    {
        var a = torch.tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 }, requires_grad: true);
        var b = torch.tensor(new float[] { 5, 6, 7, 8 }, new long[] { 2, 2 });
        var y = a.matmul(b).sum();
        y.backward();
        Assert.Equal(1 * 5 + 2 * 7 + 1 * 6 + 2 * 8 + 3 * 5 + 4 * 7 + 3 * 6 + 4 * 8, y.item<float>());
        // d(sum(A B))/dA[i,k] = sum_j B[k,j]
        Assert.Equal(new float[] { 11, 15, 11, 15 }, a.grad!.data<float>().ToArray());
    }
}
