using Npgsql;
using Orchestrator.Grains.Instances;
using Orchestrator.Runs.Instances;
using Orchestrator.Testing;

namespace Orchestrator.Runs.Tests;

public sealed class PostgresInstanceListTests(PostgresDatabaseFixture fixture) : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _tenant = $"t{Guid.NewGuid():N}";
    private NpgsqlDataSource? _dataSource;
    private PostgresInstanceList _list = null!;

    public async Task InitializeAsync()
    {
        _dataSource = await RunDatabase.MigrateAsync(fixture.ConnectionString);
        _list = new PostgresInstanceList(_dataSource);
    }

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
    }

    [Fact]
    public async Task ASnapshotComesBackWhole()
    {
        var snapshot = Snapshot("whole", "ams", InstanceStates.Failed) with
        {
            Size = new InstanceSize(null, 2, 4096, "performance"),
            MachineId = "m1",
            PrivateIp = "fdaa::3",
            VolumeId = "vol_1",
            VolumePath = "/data",
            VolumeSizeGb = 3,
            Ips = ["1.2.3.4", "fdaa::3"],
            Error = new InstanceError("machine-exited", "exit code 1", Epoch.AddMinutes(1), "req-9"),
            HostKeyFingerprint = "SHA256:abc",
            Image = "ubuntu:24.04",
        };

        await _list.UpsertAsync(_tenant, snapshot);
        var page = await _list.ListAsync(_tenant, new InstanceListQuery(10));

        var read = Assert.Single(page.Items);
        Assert.Equal(snapshot with { Ips = [] }, read with { Ips = [] });
        Assert.Equal(snapshot.Ips, read.Ips);
    }

    [Fact]
    public async Task AnOlderRevisionNeverReplacesANewerOne()
    {
        await _list.UpsertAsync(_tenant, Snapshot("box", "ams", InstanceStates.Stopped, revision: 7));
        await _list.UpsertAsync(_tenant, Snapshot("box", "ams", InstanceStates.Started, revision: 6));
        await _list.UpsertAsync(_tenant, Snapshot("box", "ams", InstanceStates.Stopped, revision: 7) with { Name = "same revision" });

        var read = Assert.Single((await _list.ListAsync(_tenant, new InstanceListQuery(10))).Items);
        Assert.Equal((InstanceStates.Stopped, 7L, "box"), (read.ObservedState, read.Revision, read.Name));
    }

    [Fact]
    public async Task FilteredPagesAreFullInIdOrderAndTenantsAreApart()
    {
        for (var i = 0; i < 30; i++)
        {
            var state = i % 3 == 0 ? InstanceStates.Stopped : InstanceStates.Started;
            await _list.UpsertAsync(_tenant, Snapshot($"box-{i:00}", i % 2 == 0 ? "ams" : "fra", state));
        }

        await _list.UpsertAsync($"{_tenant}x", Snapshot("box-99", "ams", InstanceStates.Started));
        var expected = Enumerable.Range(0, 30).Where(i => i % 2 == 0 && i % 3 != 0).Select(i => $"box-{i:00}").ToList();

        var seen = new List<string>();
        var sizes = new List<int>();
        string? cursor = null;
        do
        {
            var page = await _list.ListAsync(_tenant, new InstanceListQuery(4, cursor, InstanceStates.Started, "ams"));
            sizes.Add(page.Items.Count);
            seen.AddRange(page.Items.Select(s => s.Id));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(expected, seen);
        Assert.Equal([4, 4, 2], sizes);
    }

    [Fact]
    public async Task DestroyedMatchesInstancesBeingDestroyedAndPruningTakesOnlyOldDestroyedOnes()
    {
        await _list.UpsertAsync(_tenant, Snapshot("old", "ams", InstanceStates.Destroyed));
        await _list.UpsertAsync(_tenant, Snapshot("going", "ams", InstanceStates.Destroying) with { DesiredState = InstanceStates.Destroyed });
        await _list.UpsertAsync(_tenant, Snapshot("recent", "ams", InstanceStates.Destroyed) with { UpdatedAt = Epoch.AddDays(8) });
        await _list.UpsertAsync(_tenant, Snapshot("alive", "ams", InstanceStates.Started));
        await _list.UpsertAsync($"{_tenant}x", Snapshot("other", "ams", InstanceStates.Destroyed));

        var destroyed = new InstanceListQuery(10, State: InstanceStates.Destroyed);
        Assert.Equal(["going", "old", "recent"], (await _list.ListAsync(_tenant, destroyed)).Items.Select(s => s.Id));

        var pruned = await _list.PruneDestroyedAsync(_tenant, Epoch.AddDays(7));

        Assert.Equal(2, pruned);
        Assert.Equal(["alive", "recent"], (await _list.ListAsync(_tenant, new InstanceListQuery(10))).Items.Select(s => s.Id));
        Assert.Single((await _list.ListAsync($"{_tenant}x", destroyed)).Items);
    }

    [Fact]
    public async Task RemoveForgetsOneInstance()
    {
        await _list.UpsertAsync(_tenant, Snapshot("a", "ams", InstanceStates.Started));
        await _list.UpsertAsync(_tenant, Snapshot("b", "ams", InstanceStates.Started));

        await _list.RemoveAsync(_tenant, "a");

        Assert.Equal(["b"], (await _list.ListAsync(_tenant, new InstanceListQuery(10))).Items.Select(s => s.Id));
    }

    private static InstanceSnapshot Snapshot(string id, string region, string observed, long revision = 1) =>
        new(id, id, region, new InstanceSize("shared-cpu-1x"), observed == InstanceStates.Destroyed ? InstanceStates.Destroyed : InstanceStates.Started,
            observed, MachineId: null, PrivateIp: null, VolumeId: null, Ips: [], CreatedAt: Epoch, UpdatedAt: Epoch,
            SshPublicKey: "ssh-ed25519 AAAA", HostKeyPinned: null, Revision: revision);
}
