namespace Distil.Cluster;

[GenerateSerializer]
public sealed class JobBoardState
{
    [Id(0)] public List<string> Active { get; set; } = [];
}

public sealed class JobBoardGrain([PersistentState("board", ClusterHost.Storage)] IPersistentState<JobBoardState> state) : Grain, IJobBoardGrain
{
    public async Task Add(string jobId)
    {
        if (state.State.Active.Contains(jobId)) return;
        state.State.Active.Add(jobId);
        await state.WriteStateAsync();
    }

    public async Task Remove(string jobId)
    {
        if (state.State.Active.Remove(jobId)) await state.WriteStateAsync();
    }

    public Task<string[]> Active() => Task.FromResult(state.State.Active.ToArray());
}
