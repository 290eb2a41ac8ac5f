using Xunit;

// Torch's RNG and thread count are process-wide: tests that seed it (determinism, resume equivalence) must not
// interleave with others. Tests also run with one torch thread (see docs/stack-notes.md §Threads: contention on 2 cores).
[assembly: CollectionBehavior(DisableTestParallelization = true)]
