using System.ComponentModel;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// Every citation in the repository can be followed by a newcomer: no comment, README or bench note points at the
/// study notes that live outside the repository (the papers, stack, field and style notes, or the shared folder beside
/// the checkout), and every <c>docs/&lt;page&gt;.md</c> reference names a page that exists, and a section of it when one is
/// given (<c>docs/&lt;page&gt;.md §Word</c>: Word is the first word of one of the page's headings).
/// </summary>
public class DocCitationTests
{
    static readonly HashSet<string> TextExtensions = new(StringComparer.OrdinalIgnoreCase)
        { ".cs", ".md", ".sh", ".py", ".json", ".props", ".targets", ".csproj", ".sln", ".txt", ".yml", ".yaml" };

    // Spelled in pieces so that this file does not itself contain what it looks for.
    static readonly string[] NoteNames = ["papers", "stack", "field", "style"];
    static readonly string SharedFolder = "../" + "shared";
    static readonly string SharedReference = "shared" + "/reference";
    static readonly string Docs = "do" + "cs/";

    static readonly Regex NoteMention = new($@"(?<![\w-])(?:{string.Join("|", NoteNames)})\.md", RegexOptions.Compiled);
    static readonly Regex DocsReference = new(@"(?<![\w./-])docs/([\w./-]+?\.md)", RegexOptions.Compiled);
    static readonly Regex SectionAfter = new(@"\G(?:\s*,\s*|\s+(?:and\s+)?)?§([\p{L}\p{N}-]+)", RegexOptions.Compiled);
    static readonly Regex MarkdownLink = new(@"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", RegexOptions.Compiled);

    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distil.sln"))) return d.FullName;
        throw new InvalidOperationException($"no Distil.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Tracked files and new files git does not ignore (git ls-files), relative with '/'; without git, every
    /// file outside build and run folders.</summary>
    static IReadOnlyList<string> TrackedFiles(string root)
    {
        try
        {
            var start = new ProcessStartInfo("git", ["-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var git = Process.Start(start)!;
            string output = git.StandardOutput.ReadToEnd();
            git.WaitForExit();
            if (git.ExitCode == 0) return output.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Win32Exception) { } // no git on this machine
        string[] skipped = ["bin", "obj", ".git", "runs", "TestResults", ".distil-cache", ".tools", "build"];
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(f => !f.Split('/').Any(part => skipped.Contains(part)))
            .ToArray();
    }

    static int LineOf(string text, int index) => text.AsSpan(0, index).Count('\n') + 1;

    /// <summary>First words of the headings of a markdown page, lower-case.</summary>
    static HashSet<string> HeadingWords(string page) =>
        File.ReadLines(page).Where(l => l.StartsWith('#'))
            .Select(l => Regex.Match(l.TrimStart('#', ' '), @"^[\p{L}\p{N}-]+").Value.ToLowerInvariant())
            .Where(w => w.Length > 0).ToHashSet();

    /// <summary>
    /// The problems of one file's text, as "path:line: what". <paramref name="root"/> is the repository (docs/ is under
    /// it).
    /// </summary>
    public static List<string> Violations(string root, string relativePath, string text)
    {
        var found = new List<string>();
        string dir = Path.GetDirectoryName(Path.Combine(root, relativePath))!;
        string docs = Path.GetFullPath(Path.Combine(root, "docs")) + Path.DirectorySeparatorChar;
        void Add(int index, string what) => found.Add($"{relativePath}:{LineOf(text, index)}: {what}");

        // (a) A study note by name is fine only as a docs/ page of this repository (none is named so today).
        foreach (Match m in NoteMention.Matches(text))
        {
            int start = m.Index;
            while (start > 0 && (char.IsLetterOrDigit(text[start - 1]) || text[start - 1] is '_' or '.' or '/' or '-')) start--;
            string cited = text[start..(m.Index + m.Length)];
            string resolved = cited.StartsWith('/') ? cited
                : Path.GetFullPath(Path.Combine(cited.StartsWith("docs/") ? root : dir, cited));
            if (!resolved.StartsWith(docs, StringComparison.Ordinal) || !File.Exists(resolved))
                Add(m.Index, $"cites '{cited}', which is not a page in docs/ (the study notes are not in this repository; cite the docs/ page instead)");
        }
        foreach (string outside in new[] { SharedFolder, SharedReference })
            for (int i = text.IndexOf(outside, StringComparison.Ordinal); i >= 0; i = text.IndexOf(outside, i + 1, StringComparison.Ordinal))
                Add(i, $"points at '{outside}', outside the repository; cite a docs/ page or describe the source instead");

        // (b) a cited docs page must exist; (c) each §Word after it must start one of the page's headings.
        foreach (Match m in DocsReference.Matches(text))
        {
            string page = Path.Combine(root, "docs", m.Groups[1].Value);
            if (!File.Exists(page))
            {
                Add(m.Index, $"cites docs/{m.Groups[1].Value}, which does not exist");
                continue;
            }
            HashSet<string>? headings = null;
            for (var s = SectionAfter.Match(text, m.Index + m.Length); s.Success; s = SectionAfter.Match(text, s.Index + s.Length))
            {
                headings ??= HeadingWords(page);
                string word = s.Groups[1].Value.ToLowerInvariant();
                if (!headings.Contains(word))
                    Add(s.Index, $"cites docs/{m.Groups[1].Value} §{s.Groups[1].Value}, but no heading of that page starts with '{s.Groups[1].Value}'");
            }
        }

        // Relative links between the docs pages.
        if (relativePath.StartsWith("docs/") && relativePath.EndsWith(".md"))
            foreach (Match m in MarkdownLink.Matches(text))
                if (!m.Groups[1].Value.Contains("://") && !File.Exists(Path.Combine(dir, m.Groups[1].Value)))
                    Add(m.Index, $"links to {m.Groups[1].Value}, which does not exist");
        return found;
    }

    [Fact]
    public void EveryCitationInTheRepositoryResolves()
    {
        string root = RepoRoot();
        var files = TrackedFiles(root).Where(f => TextExtensions.Contains(Path.GetExtension(f))).ToArray();
        // The scan must see the repository, or it would pass on nothing.
        Assert.Contains("README.md", files);
        Assert.Contains("tests/Distil.Tests/DocCitationTests.cs", files);
        Assert.True(files.Length > 100, $"only {files.Length} text files found under {root}");
        var problems = new List<string>();
        foreach (string f in files)
        {
            string path = Path.Combine(root, f);
            if (!File.Exists(path) || new FileInfo(path).Length > 8_000_000) continue; // deleted in the work tree, or a data file
            problems.AddRange(Violations(root, f, File.ReadAllText(path)));
        }
        Assert.True(problems.Count == 0, $"{problems.Count} citation(s) to fix:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void TheCheckFlagsEachKindOfBadCitationWithItsLine()
    {
        string root = RepoRoot();
        string note = NoteNames[0] + ".md", stackNote = NoteNames[1] + ".md";
        string text = string.Join("\n",
            $"// good: docs/adabert.md §Loss and docs/stack-notes.md §Threads, §Tokenizer",  // 1
            $"// bad: see {note} §1.6",                                                       // 2
            $"// bad: {SharedFolder}/reference/{stackNote}",                                  // 3
            $"// bad: {Docs}no-such-page.md",                                                 // 4
            $"// bad: {Docs}adabert.md §Nowhere",                                             // 5
            $"// good: docs/metakd.md §Meta-teacher, §Expertise and §Results");               // 6
        var found = Violations(root, "src/Distil/Example.cs", text);
        // Line 3 breaks three rules: it names a note, the shared folder and the notes' folder.
        Assert.Equal(new[] { 2, 3, 3, 3, 4, 5 }, found.Select(v => int.Parse(v.Split(':')[1])).ToArray());
        Assert.Contains($"cites '{note}'", found[0]);
        Assert.Contains($"'{SharedFolder}/reference/{stackNote}'", found[1]);
        Assert.Contains($"'{SharedFolder}'", found[2]);
        Assert.Contains($"'{SharedReference}'", found[3]);
        Assert.Contains($"{Docs}no-such-page.md, which does not exist", found[4]);
        Assert.Contains("§Nowhere", found[5]);
        // Inside docs/, a bare page name is a relative path to a docs page; a missing link target is reported.
        Assert.Empty(Violations(root, "docs/README.md", "[stack-notes.md](stack-notes.md)"));
        Assert.Single(Violations(root, "docs/README.md", "[x](missing-page.md)"));
    }

    [Fact]
    public void EveryDocsPageIsInTheIndex()
    {
        string docs = Path.Combine(RepoRoot(), "docs");
        string index = File.ReadAllText(Path.Combine(docs, "README.md"));
        var pages = Directory.GetFiles(docs, "*.md").Select(p => Path.GetFileName(p)).Where(p => p != "README.md").ToArray();
        Assert.NotEmpty(pages);
        Assert.All(pages, p => Assert.Contains($"]({p})", index));
    }
}
