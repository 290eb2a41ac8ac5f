namespace Distil.Pipelines;

/// <summary>What every command's config has besides its own settings: where it writes, where it computes, and a
/// check of its settings that runs before anything is loaded.</summary>
public interface IRunConfig
{
    string? Out { get; }
    string Device { get; }
    int? Threads { get; }
    void Validate();
}
