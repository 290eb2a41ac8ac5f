using System.Diagnostics;
using Distil.Data;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// data/wordnet-supersense/ is what its build script makes from Debian's wordnet-base (bench/install-debian-deps.sh),
/// byte for byte, and reads as its README says: strict BIO, 26 noun + 15 verb supersenses at most, one tagged word per
/// sentence, no sentence in two splits.
/// </summary>
public sealed class WordNetSupersenseDataTests
{
    static readonly string[] Files =
    [
        "train.conll", "dev.conll", "test.conll", "train.multilabel.jsonl", "dev.multilabel.jsonl", "test.multilabel.jsonl",
        "train.polysemy.tsv", "dev.polysemy.tsv", "test.polysemy.tsv",
    ];

    static string Folder => Path.Combine(RepoRoot(), "data", "wordnet-supersense");

    [Fact]
    public async Task Shipped_files_equal_what_the_build_script_makes()
    {
        Assert.True(File.Exists("/usr/share/wordnet/data.noun"), "wordnet-base is not installed: run bench/install-debian-deps.sh");
        using var tmp = new TempDir("wn-supersense");
        var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(Folder, "build.py"), "/usr/share/wordnet", tmp.Path }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, await err);
        Assert.Contains("train: 4000 of", output);
        foreach (var f in Files)
            Assert.True(File.ReadAllBytes(Path.Combine(Folder, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(tmp.Path, f))),
                $"{f} differs from what build.py makes; rebuild with python3 data/wordnet-supersense/build.py");
    }

    [Fact]
    public void Splits_read_as_strict_bio_with_the_illustrated_word_tagged_and_no_shared_sentence()
    {
        var splits = new[] { "train", "dev", "test" }.ToDictionary(s => s, s => TaggedSentences.Read(Path.Combine(Folder, s + ".conll"), TagScheme.Bio));
        Assert.Equal((4000, 500, 500), (splits["train"].Sentences.Count, splits["dev"].Sentences.Count, splits["test"].Sentences.Count));
        var types = new HashSet<string>();
        foreach (var s in splits.Values.SelectMany(f => f.Sentences))
        {
            Assert.True(s.Tags.Count(t => t.StartsWith("B-", StringComparison.Ordinal)) >= 1, string.Join(" ", s.Words)); // the illustrated word, at least
            foreach (var t in s.Tags.Where(t => t != "O")) types.Add(t[2..]);
        }
        // The first training sentence by hand: "swept" is the word its synset illustrates (gold, sweep: verb.motion);
        // "searchlights" is WordNet's only as a noun, tagged with its first sense's supersense (silver); "sky" is also a
        // verb in WordNet and stays O.
        var first = splits["train"].Sentences[0];
        Assert.Equal(["The", "searchlights", "swept", "across", "the", "sky"], first.Words);
        Assert.Equal(["O", "B-noun.artifact", "B-verb.motion", "O", "O", "O"], first.Tags);
        Assert.All(types, t => Assert.True(t.StartsWith("noun.", StringComparison.Ordinal) || t.StartsWith("verb.", StringComparison.Ordinal), t));
        Assert.True(types.Count(t => t.StartsWith("noun.", StringComparison.Ordinal)) <= 26 && types.Count(t => t.StartsWith("verb.", StringComparison.Ordinal)) <= 15);
        Assert.True(types.Count >= 35, $"only {types.Count} supersenses");
        var sets = splits.ToDictionary(kv => kv.Key, kv => kv.Value.Sentences.Select(s => string.Join(" ", s.Words).ToLowerInvariant()).ToHashSet());
        Assert.Empty(sets["train"].Intersect(sets["dev"]));
        Assert.Empty(sets["train"].Intersect(sets["test"]));
        Assert.Empty(sets["dev"].Intersect(sets["test"]));
    }

    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distil.sln"))) return d.FullName;
        throw new InvalidOperationException($"no Distil.sln above {AppContext.BaseDirectory}");
    }
}
