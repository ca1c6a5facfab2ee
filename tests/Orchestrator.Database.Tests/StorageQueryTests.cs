using System.Data.Common;
using System.Globalization;
using System.Text;
using Orchestrator.Testing;
using static Orchestrator.Database.Tests.ProviderParameter;

namespace Orchestrator.Database.Tests;

public sealed class StorageQueryTests(PostgresDatabaseFixture fixture) : MigratedDatabase(fixture), IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task FirstWriteInsertsVersionOne()
    {
        var grain = NewGrain();

        var version = await WriteAsync(grain, etag: null, "first");

        Assert.Equal("1", version);
        Assert.False(ProviderSeesConflict(version, null));
        Assert.Equal(("first", "1"), await ReadAsync(grain));
    }

    [Fact]
    public async Task WriteWithCurrentVersionIncrementsIt()
    {
        var grain = NewGrain();
        await WriteAsync(grain, etag: null, "first");

        var version = await WriteAsync(grain, etag: "1", "second");

        Assert.Equal("2", version);
        Assert.False(ProviderSeesConflict(version, "1"));
        Assert.Equal(("second", "2"), await ReadAsync(grain));
    }

    [Fact]
    public async Task WriteWithStaleVersionWritesNothingAndIsAConflict()
    {
        var grain = NewGrain();
        await WriteAsync(grain, etag: null, "first");
        await WriteAsync(grain, etag: "1", "second");

        var version = await WriteAsync(grain, etag: "1", "stale");

        Assert.Null(version);
        Assert.True(ProviderSeesConflict(version, "1"));
        Assert.Equal(("second", "2"), await ReadAsync(grain));
    }

    [Fact]
    public async Task SecondFirstWriteIsAConflict()
    {
        var grain = NewGrain();
        await WriteAsync(grain, etag: null, "winner");

        var version = await WriteAsync(grain, etag: null, "loser");

        Assert.True(ProviderSeesConflict(version, null));
        Assert.Equal(("winner", "1"), await ReadAsync(grain));
    }

    [Fact]
    public async Task ConcurrentFirstWritesHaveOneWinner()
    {
        for (var round = 0; round < 5; round++)
        {
            var grain = NewGrain();

            var versions = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() => WriteAsync(grain, etag: null, $"writer {i}"))));

            Assert.Single(versions, v => !ProviderSeesConflict(v, null));
            Assert.Equal("1", (await ReadAsync(grain))!.Value.Version);
        }
    }

    [Fact]
    public async Task ReadOfUnknownGrainReturnsNoRow()
    {
        Assert.Null(await ReadAsync(NewGrain()));
    }

    [Fact]
    public async Task GrainsWithCollidingHashesStaySeparate()
    {
        var grain = NewGrain();
        var otherType = grain with { TypeString = grain.TypeString + ".other" };
        var otherKey = grain with { Extension = "other" };
        var noExtension = grain with { Extension = null };
        var emptyExtension = grain with { Extension = "" };

        foreach (var (g, payload) in new[] { (grain, "a"), (otherType, "b"), (otherKey, "c"), (noExtension, "d"), (emptyExtension, "e") })
        {
            Assert.Equal("1", await WriteAsync(g, etag: null, payload));
        }

        Assert.Equal(("a", "1"), await ReadAsync(grain));
        Assert.Equal(("b", "1"), await ReadAsync(otherType));
        Assert.Equal(("c", "1"), await ReadAsync(otherKey));
        Assert.Equal(("d", "1"), await ReadAsync(noExtension));
        Assert.Equal(("e", "1"), await ReadAsync(emptyExtension));
        Assert.Null(await ReadAsync(grain with { ServiceId = grain.ServiceId + "-other" }));
    }

    [Fact]
    public async Task LongKeysAreStored()
    {
        var grain = NewGrain() with { Extension = new string('k', 10_000), TypeString = new string('t', 5_000) };

        Assert.Equal("1", await WriteAsync(grain, etag: null, "big"));

        Assert.Equal(("big", "1"), await ReadAsync(grain));
    }

    [Fact]
    public async Task ClearKeepsTheRowWithoutPayloadAndBumpsTheVersion()
    {
        var grain = NewGrain();
        await WriteAsync(grain, etag: null, "first");

        var version = await ClearAsync("ClearStorageKey", grain, etag: "1");

        Assert.Equal("2", version);
        Assert.False(ProviderSeesConflict(version, "1"));
        Assert.Equal((null, "2"), await ReadAsync(grain));
        Assert.Equal("3", await WriteAsync(grain, etag: "2", "after clear"));
    }

    [Fact]
    public async Task ClearWithStaleVersionIsAConflict()
    {
        var grain = NewGrain();
        await WriteAsync(grain, etag: null, "first");
        await WriteAsync(grain, etag: "1", "second");

        var version = await ClearAsync("ClearStorageKey", grain, etag: "1");

        Assert.True(ProviderSeesConflict(version, "1"));
        Assert.Equal(("second", "2"), await ReadAsync(grain));
    }

    [Fact]
    public async Task DeleteRemovesTheRowSoTheNextWriteStartsAgain()
    {
        var grain = NewGrain();
        await WriteAsync(grain, etag: null, "first");

        var version = await ClearAsync("DeleteStorageKey", grain, etag: "1");

        Assert.False(ProviderSeesConflict(version, "1"));
        Assert.Null(await ReadAsync(grain));
        Assert.Equal("1", await WriteAsync(grain, etag: null, "again"));
    }

    [Fact]
    public async Task DeleteWithStaleVersionIsAConflict()
    {
        var grain = NewGrain();
        await WriteAsync(grain, etag: null, "first");
        await WriteAsync(grain, etag: "1", "second");

        var version = await ClearAsync("DeleteStorageKey", grain, etag: "1");

        Assert.True(ProviderSeesConflict(version, "1"));
        Assert.Equal(("second", "2"), await ReadAsync(grain));
    }

    // AdoNetGrainStorage.CheckVersionInconsistency in 10.4.2: the returned version must be a new one.
    private static bool ProviderSeesConflict(string? storageVersion, string? grainVersion) =>
        storageVersion == grainVersion || storageVersion == string.Empty || (storageVersion is null && grainVersion is not null);

    private static Grain NewGrain() =>
        // Fixed hashes: every grain in these tests collides on both, so only the full strings tell them apart.
        new(UniqueId("service"), IdHash: 12345, N0: 0, N1: 42, TypeHash: -678, TypeString: "orchestrator.instancegrain", Extension: "key");

    // WriteStateAsync: the selector reads NewGrainStateVersion; SingleOrDefault() of no rows is null.
    private async Task<string?> WriteAsync(Grain grain, string? etag, string payload)
    {
        var versions = await Commands.ReadAsync(
            "WriteToStorageKey",
            r => NullableInt(r, "NewGrainStateVersion")?.ToString(CultureInfo.InvariantCulture) ?? "",
            [.. Identity(grain), For("GrainStateVersion", ParseEtag(etag)), For("PayloadBinary", Encoding.UTF8.GetBytes(payload))]);
        return versions.SingleOrDefault();
    }

    // ClearStateAsync: the selector reads column 0 as a string, whichever query (clear or delete) runs.
    private async Task<string?> ClearAsync(string key, Grain grain, string? etag)
    {
        var versions = await Commands.ReadAsync(
            key,
            r => r.GetValue(0).ToString(),
            [.. Identity(grain), For("GrainStateVersion", ParseEtag(etag))]);
        return versions.SingleOrDefault();
    }

    // ReadStateAsync: PayloadBinary may be NULL (cleared state), Version is the ETag.
    private async Task<(string? Payload, string? Version)?> ReadAsync(Grain grain)
    {
        var rows = await Commands.ReadAsync(
            "ReadFromStorageKey",
            r =>
            {
                var payloadOrdinal = r.GetOrdinal("PayloadBinary");
                var payload = r.IsDBNull(payloadOrdinal) ? null : Encoding.UTF8.GetString((byte[])r.GetValue(payloadOrdinal));
                return (payload, NullableInt(r, "Version")?.ToString(CultureInfo.InvariantCulture));
            },
            Identity(grain));
        return rows.Count == 0 ? null : Assert.Single(rows);
    }

    private static int? ParseEtag(string? etag) =>
        string.IsNullOrWhiteSpace(etag) ? null : int.Parse(etag, CultureInfo.InvariantCulture);

    private static int? NullableInt(DbDataReader record, string column)
    {
        var value = record.GetValue(record.GetOrdinal(column));
        return value is DBNull ? null : Convert.ToInt32(value, CultureInfo.InvariantCulture);
    }

    private static ProviderParameter[] Identity(Grain grain) =>
    [
        For("GrainIdHash", grain.IdHash),
        For("GrainIdN0", grain.N0),
        For("GrainIdN1", grain.N1),
        For("GrainTypeHash", grain.TypeHash),
        For("GrainTypeString", grain.TypeString),
        For("GrainIdExtensionString", grain.Extension),
        For("ServiceId", grain.ServiceId),
    ];

    private sealed record Grain(string ServiceId, int IdHash, long N0, long N1, int TypeHash, string TypeString, string? Extension);
}
