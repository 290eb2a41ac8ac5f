using Distil.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;

namespace Distil.Training;

/// <summary>
/// Resumable checkpoints under run/checkpoints/step-NNNNNNN/: each module's weights and the optimizer state (TorchSharp's
/// own .dat format: exact, internal to resume; best/ is the HF folder) and trainer_state.json. A checkpoint is
/// written into a hidden temporary folder and renamed into place, so a kill at any moment leaves either the
/// previous checkpoint or the new one, never a partial one.
/// </summary>
public sealed class CheckpointStore
{
    public string Root { get; }
    const string Prefix = "step-";

    public CheckpointStore(string runDir) => Root = Path.Combine(runDir, "checkpoints");

    public string Save(TrainerState state, IReadOnlyDictionary<string, torch.nn.Module> modules, OptimizerHelper optimizer, int keep,
        IReadOnlyDictionary<string, OptimizerHelper>? extra = null)
    {
        string final = Path.Combine(Root, $"{Prefix}{state.GlobalStep:D7}");
        string tmp = Path.Combine(Root, $".tmp-{state.GlobalStep:D7}-{Environment.ProcessId}");
        // A full or read-only disk: the temp folder goes, the previous checkpoints stay, the error says where and what to do.
        string? previous = Directory.Exists(Root) ? Directory.GetDirectories(Root, Prefix + "*").Order(StringComparer.Ordinal).LastOrDefault() : null;
        WriteFault.Guard(final, tmp, () =>
        {
            Directory.CreateDirectory(Root);
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            Directory.CreateDirectory(tmp);
            foreach (var (name, module) in modules) module.save(Path.Combine(tmp, $"{name}.dat"));
            optimizer.save_state_dict(Path.Combine(tmp, "optimizer.dat"));
            foreach (var (name, other) in extra ?? new Dictionary<string, OptimizerHelper>()) other.save_state_dict(Path.Combine(tmp, $"optimizer-{name}.dat"));
            File.WriteAllText(Path.Combine(tmp, "trainer_state.json"), state.ToJson());
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true); // same step saved again (e.g. after resume)
            Directory.Move(tmp, final);
        }, kept: "nothing half-written was left behind; " +
            (previous != null ? $"the previous checkpoint {previous} is intact: resume from it with --resume" : "no checkpoint was written yet"));
        foreach (string old in List().SkipLast(keep)) Directory.Delete(old, recursive: true);
        return final;
    }

    /// <summary>
    /// Deletes checkpoints/ (every resumable checkpoint) after a run that completed: best/ is the result, the
    /// checkpoints only serve --resume, and they can be several times the model's size.
    /// </summary>
    public void DropAll()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }

    /// <summary>Complete checkpoints, oldest first. Temporary folders of an interrupted save are removed.</summary>
    public IReadOnlyList<string> List()
    {
        if (!Directory.Exists(Root)) return Array.Empty<string>();
        foreach (string stale in Directory.GetDirectories(Root, ".tmp-*")) Directory.Delete(stale, recursive: true);
        return Directory.GetDirectories(Root, Prefix + "*").Order(StringComparer.Ordinal).ToArray();
    }

    public string? Latest() => List().LastOrDefault();

    public TrainerState Load(string dir, IReadOnlyDictionary<string, torch.nn.Module> modules, OptimizerHelper optimizer,
        IReadOnlyDictionary<string, OptimizerHelper>? extra = null)
    {
        string statePath = Path.Combine(dir, "trainer_state.json");
        if (!File.Exists(statePath)) throw DistilException.BadInput($"{dir}: not a checkpoint (no trainer_state.json)");
        foreach (var (name, module) in modules)
        {
            string path = Path.Combine(dir, $"{name}.dat");
            if (!File.Exists(path)) throw DistilException.BadInput($"{dir}: checkpoint has no weights for '{name}'; it was written by a different command");
            try { module.load(path, strict: true); }
            catch (Exception e) when (e is not DistilException)
            {
                throw DistilException.BadInput($"{path}: checkpoint does not match the model ({e.Message}); resume with the same model and config, or start a new run folder");
            }
        }
        optimizer.load_state_dict(Path.Combine(dir, "optimizer.dat"));
        foreach (var (name, other) in extra ?? new Dictionary<string, OptimizerHelper>())
        {
            string path = Path.Combine(dir, $"optimizer-{name}.dat");
            if (!File.Exists(path)) throw DistilException.BadInput($"{dir}: checkpoint has no state for optimizer '{name}'; it was written by a different command");
            other.load_state_dict(path);
        }
        return TrainerState.FromJson(File.ReadAllText(statePath), statePath);
    }
}
