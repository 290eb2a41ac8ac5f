using Distil.Text;
using Xunit;

namespace Distil.Tests;

public class TruncationTests
{
    [Theory]
    // a, b, budget -> kept lengths (worked out by the one-token-at-a-time rule; ties cut b)
    [InlineData(5, 3, 5, 3, 2)]
    [InlineData(3, 3, 4, 2, 2)]
    [InlineData(3, 3, 5, 3, 2)]
    [InlineData(2, 7, 6, 2, 4)]
    [InlineData(10, 1, 4, 3, 1)]
    [InlineData(4, 4, 9, 4, 4)]
    public void LongestFirstCutsTheLongerFromTheEnd(int na, int nb, int budget, int keepA, int keepB)
    {
        var a = Enumerable.Range(100, na).ToList();
        var b = Enumerable.Range(200, nb).ToList();
        Truncation.LongestFirst(a, b, budget);
        Assert.Equal(Enumerable.Range(100, keepA), a);
        Assert.Equal(Enumerable.Range(200, keepB), b);
    }

    [Fact]
    public void SingleSequenceKeepsItsHead()
    {
        var a = Enumerable.Range(0, 10).ToList();
        Truncation.LongestFirst(a, null, 4);
        Assert.Equal(new[] { 0, 1, 2, 3 }, a);
    }
}
