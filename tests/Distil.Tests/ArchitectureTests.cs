using System.Text.RegularExpressions;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// The library's layers, read from the built Distil.dll (signatures and method bodies, see AssemblyTypeUses): no
/// namespace uses a higher layer, no namespaces form a cycle, every namespace has a layer; and from the sources: each
/// folder holds its namespace, no file imports a higher layer, and README's Layout diagram lists the same layers in
/// the same order. Distil.Cli is a separate assembly on top; its project reference already makes that direction one-way.
/// </summary>
public sealed class ArchitectureTests
{
    /// <summary>Bottom to top. A namespace may use its own layer and those below it. The README diagram mirrors this.</summary>
    public static readonly (string Layer, string[] Namespaces)[] Layers =
    [
        ("Core", ["Distil", "Distil.Native", "Distil.Text"]),
        ("Models", ["Distil.Models"]),
        ("Storage", ["Distil.Data", "Distil.Checkpoints", "Distil.Labels"]),
        ("Training", ["Distil.Training", "Distil.Training.Metrics", "Distil.Reports", "Distil.Sweeps"]),
        ("Stages", ["Distil.Pipelines"]),
        ("Methods", ["Distil.FineTune", "Distil.Augment", "Distil.Distillation", "Distil.Augment.L2A", "Distil.Search", "Distil.MetaKD", "Distil.Baselines"]),
        ("Onnx", ["Distil.Onnx"]),
        ("Deploy", ["Distil.Deploy"]),
    ];

    static readonly Lazy<IReadOnlyList<TypeUse>> DistilUses = new(() =>
        AssemblyTypeUses.Read(typeof(DistilException).Assembly.Location).Where(u => IsDistil(u.FromNamespace) && IsDistil(u.ToNamespace)).ToList());

    static bool IsDistil(string ns) => ns == "Distil" || ns.StartsWith("Distil.", StringComparison.Ordinal);

    [Fact]
    public void EveryNamespaceHasALayer()
    {
        var inAssembly = DistilUses.Value.Select(u => u.FromNamespace).Concat(DistilUses.Value.Select(u => u.ToNamespace)).ToHashSet();
        var inTable = Layers.SelectMany(l => l.Namespaces).ToHashSet();
        Assert.True(inAssembly.SetEquals(inTable),
            $"namespaces without a layer: [{string.Join(", ", inAssembly.Except(inTable))}]; layers naming no namespace of Distil.dll: [{string.Join(", ", inTable.Except(inAssembly))}]");
    }

    [Fact]
    public void NoNamespaceUsesAHigherLayer()
    {
        var violations = UpwardUses(DistilUses.Value, Layers);
        Assert.True(violations.Count == 0, "uses of a higher layer:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void NamespacesFormNoCycle()
    {
        var cycles = Cycles(DistilUses.Value);
        Assert.True(cycles.Count == 0, "namespace cycles:\n" + string.Join("\n", cycles));
    }

    /// <summary>The checks themselves on hand-made uses: an upward use is named with both types, and a cycle
    /// within one layer (where the layer check cannot see it) is found, with one use per edge.</summary>
    [Fact]
    public void TheChecksCatchAnUpwardUseAndACycle()
    {
        var upward = new TypeUse("Distil.Training.Trainer`1", "Distil.Training", "Distil.Distillation.KdLosses", "Distil.Distillation");
        var violation = Assert.Single(UpwardUses([upward], Layers));
        Assert.Equal("Distil.Training.Trainer`1 (Training) uses Distil.Distillation.KdLosses (Methods)", violation);
        Assert.Empty(UpwardUses([upward with { From = "Distil.Distillation.X", FromNamespace = "Distil.Distillation", To = "Distil.Training.Y", ToNamespace = "Distil.Training" }], Layers));

        TypeUse U(string from, string to) => new($"{from}.T", from, $"{to}.T", to);
        var cycle = Assert.Single(Cycles([U("A", "B"), U("B", "C"), U("C", "A"), U("D", "A"), U("A", "A"), U("E", "D")]));
        Assert.Equal("A -> B -> C -> A: A.T uses B.T; B.T uses C.T; C.T uses A.T", cycle);
        Assert.Empty(Cycles([U("A", "B"), U("B", "C"), U("A", "C")]));
        Assert.Equal(2, Cycles([U("A", "B"), U("B", "A"), U("C", "D"), U("D", "C"), U("B", "C")]).Count);
        Assert.Equal("A, B, C reach one another, e.g. A -> B -> A: A.T uses B.T; B.T uses A.T", Assert.Single(Cycles([U("A", "B"), U("B", "A"), U("B", "C"), U("C", "A")])));
    }

    /// <summary>The reader sees uses that exist only inside method bodies (ArchitectureFixtures.cs).</summary>
    [Fact]
    public void TheReaderSeesUsesInsideMethodBodies()
    {
        const string fixture = "Distil.Tests.ArchitectureFixture";
        var uses = AssemblyTypeUses.Read(typeof(ArchitectureTests).Assembly.Location)
            .Where(u => u.FromNamespace == fixture + ".High").ToList();
        foreach (var from in new[] { "CallsStatic", "NewsInLambda", "GenericLocal", "TypeOfOnly" })
            Assert.Contains(new TypeUse($"{fixture}.High.{from}", fixture + ".High", $"{fixture}.Low.Target", fixture + ".Low"), uses);
        Assert.DoesNotContain(uses, u => u.From.EndsWith(".UsesNothing", StringComparison.Ordinal));
    }

    /// <summary>Folders tell the truth: every file under src/Distil/X/Y/ declares namespace Distil.X.Y.</summary>
    [Fact]
    public void EachFolderHoldsItsNamespace()
    {
        string src = Path.Combine(RepoRoot(), "src", "Distil");
        var wrong = new List<string>();
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(src, file);
            if (rel.StartsWith("bin" + Path.DirectorySeparatorChar) || rel.StartsWith("obj" + Path.DirectorySeparatorChar)) continue;
            string? folder = Path.GetDirectoryName(rel);
            string expected = string.IsNullOrEmpty(folder) ? "Distil" : "Distil." + folder.Replace(Path.DirectorySeparatorChar, '.');
            var declared = Regex.Match(File.ReadAllText(file), @"^namespace\s+([\w.]+)", RegexOptions.Multiline).Groups[1].Value;
            if (declared != expected) wrong.Add($"{rel}: namespace {declared}, folder says {expected}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    /// <summary>
    /// The source says the same: no file imports a higher layer's namespace. The compiled IL cannot show a use that
    /// only reads a constant (the compiler copies the value in), nor a using directive left behind by a move.
    /// </summary>
    [Fact]
    public void NoFileImportsAHigherLayer()
    {
        string src = Path.Combine(RepoRoot(), "src", "Distil");
        var rank = Layers.SelectMany((l, i) => l.Namespaces.Select(ns => (ns, i))).ToDictionary(p => p.ns, p => p.i);
        var wrong = new List<string>();
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            string text = File.ReadAllText(file);
            string own = Regex.Match(text, @"^namespace\s+([\w.]+)", RegexOptions.Multiline).Groups[1].Value;
            if (!rank.TryGetValue(own, out int ownRank)) continue; // bin/obj, and EachFolderHoldsItsNamespace names strays
            foreach (Match m in Regex.Matches(text, @"^using\s+(?:static\s+)?(Distil[\w.]*);", RegexOptions.Multiline))
            {
                string used = m.Groups[1].Value;
                while (!rank.ContainsKey(used) && used.Contains('.')) used = used[..used.LastIndexOf('.')]; // using static Distil.X.Type
                if (rank.TryGetValue(used, out int usedRank) && usedRank > ownRank)
                    wrong.Add($"{Path.GetRelativePath(src, file)} ({Layers[ownRank].Layer}): using {m.Groups[1].Value} ({Layers[usedRank].Layer})");
            }
        }
        Assert.True(wrong.Count == 0, "imports of a higher layer:\n" + string.Join("\n", wrong));
    }

    /// <summary>README's Layout diagram lists the layers top to bottom, each line naming its layer's folders.</summary>
    [Fact]
    public void TheReadmeDiagramMatchesTheLayers()
    {
        var readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        var layout = Regex.Match(readme, @"^## Layout\n(.*?)(?=^## |\z)", RegexOptions.Multiline | RegexOptions.Singleline).Groups[1].Value.Split('\n');
        int previous = -1;
        foreach (var (layer, namespaces) in Enumerable.Reverse(Layers))
        {
            int at = Array.FindIndex(layout, l => l.StartsWith(layer + " ", StringComparison.Ordinal));
            Assert.True(at > previous, $"README Layout: no line for layer {layer} below the one above it");
            var folders = layout[at].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var ns in namespaces)
                Assert.True(folders.Contains(Folder(ns)), $"README Layout: the {layer} line does not name {Folder(ns)} ({ns})");
            previous = at;
        }
    }

    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distil.sln"))) return d.FullName;
        throw new InvalidOperationException($"no Distil.sln above {AppContext.BaseDirectory}");
    }

    static string Folder(string ns) => ns == "Distil" ? "(root)" : ns["Distil.".Length..].Replace('.', '/') + "/";

    /// <summary>Each use of a type in a higher layer, as "From (layer) uses To (layer)".</summary>
    public static List<string> UpwardUses(IEnumerable<TypeUse> uses, IReadOnlyList<(string Layer, string[] Namespaces)> layers)
    {
        var rank = layers.SelectMany((l, i) => l.Namespaces.Select(ns => (ns, i))).ToDictionary(p => p.ns, p => p.i);
        return uses.Where(u => rank.ContainsKey(u.FromNamespace) && rank.ContainsKey(u.ToNamespace) && rank[u.ToNamespace] > rank[u.FromNamespace])
            .Select(u => $"{u.From} ({layers[rank[u.FromNamespace]].Layer}) uses {u.To} ({layers[rank[u.ToNamespace]].Layer})").ToList();
    }

    /// <summary>
    /// Each set of namespaces that reach one another (a strongly connected component of more than one, found with
    /// Tarjan's algorithm): its members, one cycle through it and, for each edge of that cycle, one type that makes it.
    /// </summary>
    public static List<string> Cycles(IEnumerable<TypeUse> uses)
    {
        var example = new Dictionary<(string, string), TypeUse>();
        foreach (var u in uses.Where(u => u.FromNamespace != u.ToNamespace)) example.TryAdd((u.FromNamespace, u.ToNamespace), u);
        var next = example.Keys.GroupBy(e => e.Item1).ToDictionary(g => g.Key, g => g.Select(e => e.Item2).Order(StringComparer.Ordinal).ToList());
        var nodes = example.Keys.SelectMany(e => new[] { e.Item1, e.Item2 }).Distinct().Order(StringComparer.Ordinal).ToList();

        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var components = new List<List<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            foreach (var w in next.GetValueOrDefault(v) ?? [])
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (stack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do { x = stack.Pop(); component.Add(x); } while (x != v);
            if (component.Count > 1) components.Add(component);
        }
        foreach (var v in nodes) if (!index.ContainsKey(v)) Visit(v);

        return components.Select(c =>
        {
            var path = CycleThrough(c.Min(StringComparer.Ordinal)!, c.ToHashSet(), next);
            var edges = path.Zip(path.Skip(1)).Select(e => example[e]);
            var cycle = string.Join(" -> ", path) + ": " + string.Join("; ", edges.Select(u => $"{u.From} uses {u.To}"));
            return c.Count == path.Count - 1 ? cycle : $"{string.Join(", ", c.Order(StringComparer.Ordinal))} reach one another, e.g. {cycle}";
        }).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>A shortest cycle from the given namespace back to itself (breadth first, inside it).</summary>
    static List<string> CycleThrough(string start, HashSet<string> component, Dictionary<string, List<string>> next)
    {
        var cameFrom = new Dictionary<string, string>();
        var queue = new Queue<string>([start]);
        while (queue.Count > 0)
        {
            var v = queue.Dequeue();
            foreach (var w in next.GetValueOrDefault(v) ?? [])
            {
                if (!component.Contains(w)) continue;
                if (w == start)
                {
                    var path = new List<string> { start };
                    for (var x = v; x != start; x = cameFrom[x]) path.Insert(1, x);
                    path.Add(start);
                    return path;
                }
                if (cameFrom.TryAdd(w, v)) queue.Enqueue(w);
            }
        }
        throw new InvalidOperationException("a strongly connected component without a cycle");
    }
}
