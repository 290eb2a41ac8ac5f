// Types for ArchitectureTests: each High type mentions Low.Target only inside a method body (a call, a lambda, a
// generic local, a typeof), so a reader of signatures alone would find no use at all.
namespace Distil.Tests.ArchitectureFixture.Low
{
    public sealed class Target
    {
        public static int Count => 1;
        public int Value = 2;
    }
}

namespace Distil.Tests.ArchitectureFixture.High
{
    using Distil.Tests.ArchitectureFixture.Low;

    public static class CallsStatic { public static int Run() => Target.Count; }
    public static class NewsInLambda { public static Func<int> Run() => () => new Target().Value; }
    public static class GenericLocal { public static int Run() { var list = new List<Target>(); return list.Count; } }
    public static class TypeOfOnly { public static Type Run() => typeof(Target); }
    public static class UsesNothing { public static int Run() => 3; }
}
