using System.Diagnostics;
using System.Text;
using Distil.Text;
using Xunit;
using HfTokenizer = Tokenizers.DotNet.Tokenizer;

namespace Distil.Tests;

/// <summary>Runs only when DISTIL_TOKENIZER_BENCH names the file to write (bench/tokenizer-speed.sh sets it); skipped otherwise.</summary>
public sealed class TokenizerBenchFactAttribute : FactAttribute
{
    public const string Variable = "DISTIL_TOKENIZER_BENCH";

    public TokenizerBenchFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)))
            Skip = $"tokenizer speed bench: run bench/tokenizer-speed.sh (sets {Variable})";
    }
}

/// <summary>
/// The figures of bench/results/tokenizers.md: for WordPiece (bert-base-uncased vocab), byte-level BPE (the test fixture)
/// and SentencePiece Unigram (the test fixture), the agreement of our ids with Hugging Face's Rust tokenizers
/// (Tokenizers.DotNet 1.4.1) on the 263 hostile texts and on 2,086 UCI training sentences, and the speed of both on those
/// sentences: single text per call, template and truncation to 128 on both sides, one thread, median of 5 timed passes
/// after one warm-up pass. Lives in the test project because the library is a test-only dependency.
/// </summary>
public sealed class TokenizerSpeedBench(MiniLmFixture minilm) : IClassFixture<MiniLmFixture>
{
    const int Passes = 5, MaxLen = 128;

    [TokenizerBenchFact]
    public void WriteTokenizerAgreementAndSpeed()
    {
        string outPath = Environment.GetEnvironmentVariable(TokenizerBenchFactAttribute.Variable)!;
        var sentences = File.ReadLines(Path.Combine(PythonReference.Folder, "..", "..", "data", "uci-sentiment", "train.tsv"))
            .Skip(1).Select(l => l.Split('\t')[0]).ToList();
        using var dir = new TempDir("tok-bench");
        File.Copy(minilm.Vocab, Path.Combine(dir.Path, "vocab.txt"));
        string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "data", "tokenizers", name);
        var bpeDir = Path.Combine(dir.Path, "bpe");
        Directory.CreateDirectory(bpeDir);
        File.Copy(Fixture("bpe-vocab.json"), Path.Combine(bpeDir, "vocab.json"));
        File.Copy(Fixture("bpe-merges.txt"), Path.Combine(bpeDir, "merges.txt"));
        var kinds = new (string Name, TextTokenizer Tokenizer)[]
        {
            ("WordPiece (bert-base-uncased vocab, 30,522)", TokenizerFolder.Load(dir.Path)),
            ($"byte-level BPE (fixture, {TokenizerFolder.Load(bpeDir).VocabSize} tokens)", TokenizerFolder.Load(bpeDir)),
            ("Unigram (SentencePiece fixture, 500 pieces)", SentencePieceTokenizer.FromFile(Fixture("unigram.model"), SentencePieceTokenizer.IdLayout.Model)),
        };

        var md = new StringBuilder();
        var notes = new List<string>();
        md.AppendLine($"| tokenizer | hostile texts identical | UCI sentences identical | ours, sentences/s | HF tokenizers, sentences/s | ours / HF |");
        md.AppendLine("|---|---|---|---|---|---|");
        foreach (var (name, tok) in kinds)
        {
            string work = Path.Combine(dir.Path, name[..4]);
            var (same, total, _) = HfTokenizersTests.Compare(tok, work);
            string cut = Path.Combine(work, "cut", "tokenizer.json");
            using var hf = new HfTokenizer(cut);
            var differ = sentences.Where(s => !hf.Encode(s).Select(i => (long)i).SequenceEqual(tok.Encode(s, null, MaxLen).InputIds)).ToList();
            int sameUci = sentences.Count - differ.Count;
            foreach (var s in differ.Take(3))
                notes.Add($"- {name}: \"{s}\": ours `{string.Join(" ", tok.Encode(s, null, MaxLen).InputIds)}`, HF `{string.Join(" ", hf.Encode(s))}`");

            double Median(Action<string> encode)
            {
                foreach (var s in sentences) encode(s); // warm-up (caches, JIT)
                var rates = new List<double>();
                for (int p = 0; p < Passes; p++)
                {
                    var clock = Stopwatch.StartNew();
                    foreach (var s in sentences) encode(s);
                    rates.Add(sentences.Count / clock.Elapsed.TotalSeconds);
                }
                rates.Sort();
                return rates[Passes / 2];
            }
            long sink = 0;
            double ours = Median(s => sink += tok.Encode(s, null, MaxLen).InputIds.Length);
            double theirs = Median(s => sink += hf.Encode(s).Length);
            Assert.True(sink > 0);
            md.AppendLine($"| {name} | {same}/{total} | {sameUci}/{sentences.Count} | {ours:N0} | {theirs:N0} | {ours / theirs:F2}x |");
        }
        if (notes.Count > 0) md.AppendLine().AppendLine("Sentences whose ids differ (at most 3 per tokenizer):").AppendLine().AppendLine(string.Join("\n", notes));
        File.WriteAllText(outPath, md.ToString());
    }
}
