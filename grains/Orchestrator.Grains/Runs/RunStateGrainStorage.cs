using System.Globalization;
using Orchestrator.Runs;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orchestrator.Grains.Runs;

/// <summary>
/// The grain storage of run checkpoints (<see cref="Name"/>): <see cref="RunState"/> in Orleans' binary format in
/// <see cref="PostgresRunStateStore"/>, which writes the checkpoints of all runs that arrive together in one
/// statement and one commit. A run that has no row there yet is read from the Orchestrator store, where runs kept
/// their checkpoints before; its next write moves it here (at the version it had there + 1).
/// </summary>
/// <remarks>
/// The ETag is the row's version. A checkpoint read from the previous store carries that store's ETag behind
/// <see cref="CarriedOverPrefix"/>, so its first write here is an insert that fails if another activation moved
/// the run first.
/// </remarks>
public sealed class RunStateGrainStorage(PostgresRunStateStore store, Serializer serializer, IGrainStorage previous) : IGrainStorage
{
    /// <summary>The provider name run grains persist their checkpoint with.</summary>
    public const string Name = "runs";

    /// <summary>Marks the ETag of a checkpoint that is still in the previous store.</summary>
    public const string CarriedOverPrefix = "previous:";

    private readonly Serializer<RunState> _serializer = serializer.GetSerializer<RunState>();

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = RunKey<T>(grainId);
        if (await store.ReadAsync(key) is { } stored)
        {
            grainState.State = (T)(object)_serializer.Deserialize(stored.Payload)!;
            grainState.ETag = stored.Version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
            return;
        }

        var carried = new GrainState<T>();
        await previous.ReadStateAsync(stateName, grainId, carried);
        grainState.State = carried.State ?? Activator.CreateInstance<T>();
        grainState.RecordExists = carried.RecordExists;
        grainState.ETag = carried.ETag is { } etag ? CarriedOverPrefix + etag : null;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = RunKey<T>(grainId);
        var (version, stored) = Expected(grainState.ETag);
        var payload = _serializer.SerializeToArray((RunState)(object)grainState.State!);
        try
        {
            var written = await store.WriteAsync(key, version, stored, payload);
            grainState.ETag = written.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        catch (RunStateConflictException conflict)
        {
            throw new InconsistentStateException(conflict.Message, "unknown", grainState.ETag ?? "none", conflict);
        }
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = RunKey<T>(grainId);
        var (version, stored) = Expected(grainState.ETag);
        if (stored)
        {
            if (!await store.DeleteAsync(key, version))
            {
                throw new InconsistentStateException($"The checkpoint of run '{key}' is no longer at version {version}.", "unknown", grainState.ETag ?? "none");
            }
        }

        // A run carried over from the previous store may still have its row there: clear that too, or it would be read again.
        var carried = new GrainState<T>();
        await previous.ReadStateAsync(stateName, grainId, carried);
        if (carried.RecordExists)
        {
            await previous.ClearStateAsync(stateName, grainId, carried);
        }

        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    /// <summary>The version the checkpoint is at, and whether it is at that version in this store.</summary>
    private static (int Version, bool Stored) Expected(string? etag)
    {
        if (etag is null)
        {
            return (0, false);
        }

        return etag.StartsWith(CarriedOverPrefix, StringComparison.Ordinal)
            ? (int.Parse(etag.AsSpan(CarriedOverPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture), false)
            : (int.Parse(etag, NumberStyles.None, CultureInfo.InvariantCulture), true);
    }

    private static string RunKey<T>(GrainId grainId) =>
        typeof(T) == typeof(RunState)
            ? grainId.Key.ToString()!
            : throw new NotSupportedException($"The '{Name}' storage keeps run checkpoints ({nameof(RunState)}) only, not {typeof(T).Name}.");
}
