using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orchestrator.Grains.Runs;
using Orchestrator.Testing;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orchestrator.Runs.Tests;

/// <summary>The run checkpoint storage over the real table, with the previous store stood in for by a dictionary.</summary>
public sealed class RunStateGrainStorageTests(PostgresDatabaseFixture fixture) : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private readonly ServiceProvider _services = new ServiceCollection().AddSerializer().BuildServiceProvider();
    private NpgsqlDataSource? _dataSource;

    private NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("Not initialized.");

    public async Task InitializeAsync() => _dataSource = await RunDatabase.MigrateAsync(fixture.ConnectionString);

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        await _services.DisposeAsync();
    }

    [Fact]
    public async Task ARunStillInThePreviousStoreIsReadFromThereAndMovedByItsNextWriteAtItsVersionThere()
    {
        await using var store = new PostgresRunStateStore(DataSource);
        var previous = new PreviousStore();
        var grain = GrainId.Create("workflowrun", $"t/run-{Guid.NewGuid():N}");
        previous.States[grain] = (new RunState { Status = "running", Workflow = "wf", Version = 3 }, "5");
        var storage = new RunStateGrainStorage(store, _services.GetRequiredService<Serializer>(), previous);

        var state = new GrainState<RunState>();
        await storage.ReadStateAsync("run", grain, state);
        Assert.Equal(("running", "wf", 3, true), (state.State!.Status, state.State!.Workflow, state.State!.Version, state.RecordExists));
        Assert.Equal(RunStateGrainStorage.CarriedOverPrefix + "5", state.ETag);

        state.State!.Status = "succeeded";
        await storage.WriteStateAsync("run", grain, state);
        Assert.Equal("6", state.ETag);

        var again = new GrainState<RunState>();
        await storage.ReadStateAsync("run", grain, again);
        Assert.Equal(("succeeded", "6"), (again.State!.Status, again.ETag));

        // A second activation that read the previous store too loses: the run has moved.
        var stale = new GrainState<RunState>(new RunState { Status = "running" }, RunStateGrainStorage.CarriedOverPrefix + "5");
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("run", grain, stale));
    }

    [Fact]
    public async Task ANewRunStartsAtVersionOneAndAStaleWriteIsInconsistent()
    {
        await using var store = new PostgresRunStateStore(DataSource);
        var storage = new RunStateGrainStorage(store, _services.GetRequiredService<Serializer>(), new PreviousStore());
        var grain = GrainId.Create("workflowrun", $"t/run-{Guid.NewGuid():N}");

        var state = new GrainState<RunState>();
        await storage.ReadStateAsync("run", grain, state);
        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);

        state.State!.Status = "running";
        state.State!.Steps["s1"] = new StepState { Status = "running", Attempt = 1 };
        await storage.WriteStateAsync("run", grain, state);
        await storage.WriteStateAsync("run", grain, state);
        Assert.Equal("2", state.ETag);

        var read = new GrainState<RunState>();
        await storage.ReadStateAsync("run", grain, read);
        Assert.Equal(("running", 1, "2"), (read.State!.Status, read.State!.Steps["s1"].Attempt, read.ETag));

        var stale = new GrainState<RunState>(new RunState(), "1");
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("run", grain, stale));
    }

    /// <summary>Where runs kept their checkpoints before: one state and ETag per grain.</summary>
    private sealed class PreviousStore : IGrainStorage
    {
        public Dictionary<GrainId, (RunState State, string ETag)> States { get; } = [];

        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            if (States.TryGetValue(grainId, out var stored))
            {
                (grainState.State, grainState.ETag, grainState.RecordExists) = ((T)(object)stored.State, stored.ETag, true);
            }

            return Task.CompletedTask;
        }

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            throw new InvalidOperationException("The previous store is only read.");

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            States.Remove(grainId);
            return Task.CompletedTask;
        }
    }
}
