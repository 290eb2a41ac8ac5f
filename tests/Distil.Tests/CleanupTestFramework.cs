using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: Xunit.TestFramework("Distil.Tests.CleanupTestFramework", "Distil.Tests")]

namespace Distil.Tests;

/// <summary>
/// xunit's own framework plus one step at the end of the run: <see cref="TempDir.Root"/> is deleted after the last
/// test and before the run reports that it finished. (A ProcessExit handler is too late: the test host is stopped
/// while it runs, and the folder stayed.)
/// </summary>
public sealed class CleanupTestFramework : XunitTestFramework
{
    /// <summary>True once xunit runs the tests through this framework (a test checks it, so the cleanup cannot silently go).</summary>
    public static bool Active { get; private set; }

    public CleanupTestFramework(IMessageSink sink) : base(sink) => Active = true;

    protected override ITestFrameworkExecutor CreateExecutor(AssemblyName assemblyName) =>
        new Executor(assemblyName, SourceInformationProvider, DiagnosticMessageSink);

    sealed class Executor(AssemblyName name, ISourceInformationProvider source, IMessageSink sink) : XunitTestFrameworkExecutor(name, source, sink)
    {
        protected override async void RunTestCases(IEnumerable<IXunitTestCase> testCases, IMessageSink executionSink, ITestFrameworkExecutionOptions options)
        {
            using var runner = new Runner(TestAssembly, testCases, DiagnosticMessageSink, executionSink, options);
            await runner.RunAsync();
        }
    }

    sealed class Runner(ITestAssembly assembly, IEnumerable<IXunitTestCase> testCases, IMessageSink diagnostics, IMessageSink executionSink,
        ITestFrameworkExecutionOptions options) : XunitTestAssemblyRunner(assembly, testCases, diagnostics, executionSink, options)
    {
        protected override Task BeforeTestAssemblyFinishedAsync()
        {
            TempDir.DeleteRoot();
            return base.BeforeTestAssemblyFinishedAsync();
        }
    }
}
