using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Distil.Checkpoints;
using Distil.Reports;
using Distil.Training;
using TorchSharp;

namespace Distil.Pipelines;

/// <summary>
/// The one way a command chains its stages. A stage has a folder under the run (run/STAGE/), a typed result and one
/// marker, run/STAGE/done.json (<see cref="StageDone{T}"/>): on --resume a finished stage is read back instead of run
/// again, an unfinished one continues from its last checkpoint. Every training goes through <see cref="Train{TBatch}"/>,
/// i.e. the one Trainer with the run's metrics log and progress, so resume, --skip-nonfinite, checkpoint retention and
/// best/ behave the same in every command. The memory check and result.json are here too, for the same reason.
/// </summary>
public sealed class StageRunner(RunContext context, int logEverySteps)
{
    // Named NaN/Infinity: a metric of an empty split is NaN, and must not make a finished stage unwritable.
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public RunContext Context { get; } = context;
    public RunFolder Run => Context.Run;
    public bool Resume => Context.Resume;
    public TorchSharp.torch.Device Device => Context.Device;

    public void Say(string message) => Context.Say(message);

    /// <summary>Runs <paramref name="body"/> in run/<paramref name="stage"/>/ unless --resume finds it done, then returns
    /// its result as recorded. <paramref name="progressName"/> names the stage to the progress display.</summary>
    public StageResult<T> Stage<T>(string stage, Func<string, T> body, string? progressName = null)
    {
        string dir = Path.Combine(Run.Dir, stage), done = Path.Combine(dir, "done.json");
        if (Resume && File.Exists(done))
        {
            var d = ReadDone<T>(done);
            Say($"{stage}: finished earlier; its result is read back from {done}");
            return new StageResult<T>(d.Result, d.Seconds, Resumed: true);
        }
        Directory.CreateDirectory(dir);
        if (progressName != null) Context.Progress?.OnStageBegin(progressName);
        var clock = Stopwatch.StartNew();
        T value = body(dir);
        double seconds = clock.Elapsed.TotalSeconds;
        RunFolder.WriteAtomic(done, JsonSerializer.Serialize(new StageDone<T>(stage, seconds, value), Json));
        return new StageResult<T>(value, seconds, Resumed: false);
    }

    /// <summary>One training in <paramref name="dir"/> (its checkpoints/ go there) through the one Trainer.</summary>
    public TrainerState Train<TBatch>(string dir, TrainingStage<TBatch> s) where TBatch : IDisposable
    {
        try
        {
            var callbacks = new List<TrainerCallback> { new MetricsLog(s.MetricsPath ?? Run.MetricsPath, logEverySteps, s.MetricsStage) };
            callbacks.AddRange(s.Callbacks);
            if (Context.Progress != null) callbacks.Add(Context.Progress);
            var trainer = new Trainer<TBatch>(dir, s.Modules, s.Objective, s.Data, s.Options, s.Evaluator, s.SaveBest, callbacks, s.Optimizer);
            return trainer.Train(Resume);
        }
        finally
        {
            foreach (var owned in s.Owned) owned.Dispose();
        }
    }

    /// <summary>
    /// Trains <paramref name="carried"/> through <paramref name="count"/> consecutive trainings in dir/stage-1 ...
    /// dir/stage-N (TinyBERT's two stages, Meta-KD's student). After each, the carried weights are saved with the
    /// stage's done.json; on --resume a finished stage only loads them. <paramref name="make"/> builds stage k when it
    /// runs (so nothing of a finished stage is built); <paramref name="record"/> is what done.json says about it.
    /// </summary>
    public void TrainStages<TBatch, TRecord>(string dir, torch.nn.Module carried, int count, Func<int, TrainingStage<TBatch>> make,
        Func<int, TRecord> record, string name = "model") where TBatch : IDisposable
    {
        for (int k = 1; k <= count; k++)
        {
            string stageDir = Path.Combine(dir, $"stage-{k}");
            string done = Path.Combine(stageDir, "done.json"), weights = Path.Combine(stageDir, "student.safetensors");
            if (Resume && File.Exists(done) && File.Exists(weights))
            {
                StateDictLoader.LoadFile(carried, weights, strict: true);
                Say($"{name}: stage {k} finished earlier; its weights are loaded");
                continue;
            }
            var clock = Stopwatch.StartNew();
            Train(stageDir, make(k));
            StateDictLoader.SaveStateDict(carried, weights);
            RunFolder.WriteAtomic(done, JsonSerializer.Serialize(new StageDone<TRecord>($"stage-{k}", clock.Elapsed.TotalSeconds, record(k)), Json));
        }
    }

    /// <summary>Refuses, before anything is trained, a run whose memory estimate at this batch size does not fit;
    /// returns the line that says what was estimated (logged and put in the report).</summary>
    public string CheckMemory(string command, int batchSize, Func<int, MemoryEstimate> estimate, int? limitMb)
    {
        var (_, line) = MemoryLimit.Check(command, batchSize, estimate, limitMb);
        Say(line);
        return line;
    }

    /// <summary>run/result.json: the command's typed result, for scripts and `summarize`.</summary>
    public void WriteResult<T>(T result) =>
        RunFolder.WriteAtomic(Path.Combine(Run.Dir, "result.json"), JsonSerializer.Serialize(result, Json));

    static StageDone<T> ReadDone<T>(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<StageDone<T>>(File.ReadAllText(path), Json)
                ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw DistilException.BadInput($"{path}: not a finished-stage record of this version ({e.Message}); delete it to run that stage again");
        }
    }
}
