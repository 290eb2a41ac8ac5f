namespace Distil.Cluster;

[GenerateSerializer]
public sealed class WorkItemState
{
    [Id(0)] public byte[]? Payload { get; set; }
    [Id(1)] public byte[]? Result { get; set; }
    [Id(2)] public string? CommittedBy { get; set; }
}

public sealed class WorkItemGrain([PersistentState("item", ClusterHost.Storage)] IPersistentState<WorkItemState> state) : Grain, IWorkItemGrain
{
    public async Task<bool> Put(byte[] payload)
    {
        if (state.State.Payload is { } had) return had.AsSpan().SequenceEqual(payload);
        state.State.Payload = payload;
        await Persist();
        return true;
    }

    public Task<byte[]?> Payload() => Task.FromResult(state.State.Payload);

    public async Task<(bool First, string By)> Commit(byte[] result, string worker)
    {
        if (state.State.Result != null) return (false, state.State.CommittedBy!);
        state.State.Result = result;
        state.State.CommittedBy = worker;
        try { await Persist(); }
        catch { state.State.Result = null; state.State.CommittedBy = null; throw; }
        return (true, worker);
    }

    public Task<byte[]?> Result() => Task.FromResult(state.State.Result);

    async Task Persist()
    {
        try { await state.WriteStateAsync(); }
        catch { DeactivateOnIdle(); throw; }
    }
}
