using Orleans.Serialization;
using Orleans.Storage;

namespace Orchestrator.Grains.Runs;

/// <summary>
/// The grain storage serializer of the Orchestrator store: a run's checkpoint (<see cref="RunState"/>, written once
/// per step transition) in Orleans' binary format, every other grain state as before (the silo's JSON serializer).
/// It exists because serializing the checkpoint with Newtonsoft JSON (type names included) was the largest single
/// cost of a step in the silo.
/// </summary>
/// <remarks>
/// A binary payload starts with <see cref="BinaryFormat"/>; JSON always starts with <c>{</c>, so checkpoints written
/// as JSON before this serializer existed still load. Code older than this serializer cannot read a binary
/// checkpoint: rolling back means draining the running runs first. Run checkpoints are now written by
/// <see cref="RunStateGrainStorage"/>; this serializer still reads those left in the Orchestrator store (either
/// format) when <see cref="RunStateGrainStorage"/> carries a run over.
/// </remarks>
public sealed class RunStateStorageSerializer(Serializer binary, IGrainStorageSerializer json) : IGrainStorageSerializer
{
    /// <summary>First byte of a binary checkpoint: version 1 of this format.</summary>
    public const byte BinaryFormat = 0x01;

    private readonly Serializer<RunState> _runState = binary.GetSerializer<RunState>();

    public BinaryData Serialize<T>(T? input)
    {
        if (typeof(T) != typeof(RunState))
        {
            return json.Serialize(input);
        }

        var payload = _runState.SerializeToArray((RunState)(object)input!);
        var bytes = new byte[payload.Length + 1];
        bytes[0] = BinaryFormat;
        payload.CopyTo(bytes, 1);
        return new BinaryData(bytes);
    }

    public T? Deserialize<T>(BinaryData input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var bytes = input.ToMemory();
        if (bytes.Length == 0 || bytes.Span[0] != BinaryFormat)
        {
            return json.Deserialize<T>(input);
        }

        if (typeof(T) != typeof(RunState))
        {
            throw new NotSupportedException($"A binary grain state was found where a {typeof(T).Name} was expected.");
        }

        return (T?)(object?)_runState.Deserialize(bytes[1..]);
    }
}
