using System.Diagnostics;

namespace Distil.Tests;

/// <summary>
/// Runs the independent Python references in tests/reference/ (torch and numpy code written from transformers' and
/// the tokenizers' semantics, not from our C#). They need Debian's python3-torch, python3-numpy and
/// python3-sentencepiece (bench/install-debian-deps.sh, which .ci/run calls); without them the test fails and says so.
/// </summary>
public static class PythonReference
{
    /// <summary>tests/reference/ of this checkout.</summary>
    public static string Folder => Path.Combine(RepoRoot(), "tests", "reference");

    static readonly Lazy<string> python = new(Find);

    /// <summary>
    /// Runs tests/reference/<paramref name="script"/> with <paramref name="args"/> and returns its standard output;
    /// a non-zero exit fails with the script's standard error.
    /// </summary>
    public static string Run(string script, params string[] args)
    {
        var psi = new ProcessStartInfo(python.Value) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Folder };
        psi.ArgumentList.Add(Path.Combine(Folder, script));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{script} {string.Join(' ', args)} exited {p.ExitCode}:\n{stderr.Result}");
        return stdout;
    }

    /// <summary>The first python that imports torch, numpy and sentencepiece: Debian's own before whatever is on PATH.</summary>
    static string Find()
    {
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                var psi = new ProcessStartInfo(candidate, ["-c", "import torch, numpy, sentencepiece"]) { RedirectStandardError = true, RedirectStandardOutput = true };
                using var p = Process.Start(psi)!;
                p.WaitForExit();
                if (p.ExitCode == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        throw new InvalidOperationException("no python3 with torch, numpy and sentencepiece: run bench/install-debian-deps.sh (Debian's python3-torch, python3-numpy, python3-sentencepiece)");
    }

    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distil.sln"))) return d.FullName;
        throw new InvalidOperationException($"no Distil.sln above {AppContext.BaseDirectory}");
    }
}
