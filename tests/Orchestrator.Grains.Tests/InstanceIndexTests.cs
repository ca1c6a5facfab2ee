using Orchestrator.Grains.Instances;

namespace Orchestrator.Grains.Tests;

/// <summary>
/// The tenant's instance list without a database: served from the index grain's own entries (no call to the
/// instance grains, so these instances need not exist), in full pages, and forgetting destroyed instances after
/// their retention on the fake clock.
/// </summary>
[Collection(FakeTimeCluster.Name)]
public sealed class InstanceIndexTests(FakeTimeClusterFixture fixture)
{
    private readonly string _tenant = $"t-{Guid.NewGuid():N}"[..30];

    [Fact]
    public async Task FilteredPagesAreFullAndTheCursorEndsOnTheLastPage()
    {
        var writer = fixture.Client.GetGrain<IInstanceIndexWriterGrain>(_tenant);
        for (var i = 0; i < 25; i++)
        {
            await writer.UpdateAsync(Snapshot($"box-{i:00}", i % 2 == 0 ? "ams" : "fra", InstanceStates.Started));
        }

        var index = fixture.Client.GetGrain<IInstanceIndexGrain>(_tenant);
        await Eventually.UntilAsync(() => index.ListAsync(new InstanceListQuery(100)), page => page.Items.Count == 25, "all 25 instances in the list");

        var seen = new List<string>();
        var pages = new List<int>();
        string? cursor = null;
        do
        {
            var page = await index.ListAsync(new InstanceListQuery(5, cursor, InstanceStates.Started, "ams"));
            pages.Add(page.Items.Count);
            seen.AddRange(page.Items.Select(s => s.Id));
            Assert.All(page.Items, s => Assert.Equal("ams", s.Region));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        // 13 instances in ams: two full pages and the rest, nothing repeated or skipped, no empty page at the end.
        Assert.Equal([5, 5, 3], pages);
        Assert.Equal(Enumerable.Range(0, 25).Where(i => i % 2 == 0).Select(i => $"box-{i:00}"), seen);
    }

    [Fact]
    public async Task TheListShowsEachInstancesNewestRevision()
    {
        var writer = fixture.Client.GetGrain<IInstanceIndexWriterGrain>(_tenant);
        await writer.UpdateAsync(Snapshot("box", "ams", InstanceStates.Stopped, revision: 5));
        await writer.UpdateAsync(Snapshot("box", "ams", InstanceStates.Started, revision: 3));
        var index = fixture.Client.GetGrain<IInstanceIndexGrain>(_tenant);

        var page = await Eventually.UntilAsync(() => index.ListAsync(new InstanceListQuery(10)), p => p.Items.Count == 1, "the instance in the list");

        Assert.Equal(InstanceStates.Stopped, page.Items[0].ObservedState);
        Assert.Empty((await index.ListAsync(new InstanceListQuery(10, State: InstanceStates.Started))).Items);
    }

    [Fact]
    public async Task DestroyedInstancesLeaveTheListAfterTheirRetention()
    {
        var writer = fixture.Client.GetGrain<IInstanceIndexWriterGrain>(_tenant);
        var index = fixture.Client.GetGrain<IInstanceIndexGrain>(_tenant);
        await writer.UpdateAsync(Snapshot("gone", "ams", InstanceStates.Destroyed));
        await writer.UpdateAsync(Snapshot("kept", "ams", InstanceStates.Destroyed, volumeId: "vol_kept"));
        await writer.UpdateAsync(Snapshot("alive", "ams", InstanceStates.Started));
        var destroyed = new InstanceListQuery(10, State: InstanceStates.Destroyed);
        await Eventually.UntilAsync(() => index.ListAsync(destroyed), p => p.Items.Count == 2, "both destroyed instances in the list");

        // Six days on (the default retention is seven), a list still shows them.
        fixture.Clock.Advance(TimeSpan.FromDays(6));
        Assert.Equal(2, (await index.ListAsync(destroyed)).Items.Count);

        fixture.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(1));
        Assert.Empty((await index.ListAsync(destroyed)).Items);
        Assert.Equal(["alive"], (await index.ListAsync(new InstanceListQuery(10))).Items.Select(s => s.Id));
    }

    private InstanceSnapshot Snapshot(string id, string region, string observed, long revision = 1, string? volumeId = null)
    {
        var now = fixture.Clock.GetUtcNow();
        var desired = observed == InstanceStates.Destroyed ? InstanceStates.Destroyed : InstanceStates.Started;
        return new InstanceSnapshot(
            id, id, region, new InstanceSize("shared-cpu-1x"), desired, observed, MachineId: null, PrivateIp: null, VolumeId: volumeId,
            Ips: [], CreatedAt: now, UpdatedAt: now, SshPublicKey: "ssh-ed25519 AAAA", HostKeyPinned: null, Revision: revision);
    }
}
