using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Fly;

/// <summary>
/// Source-generated JSON metadata for every Fly wire type. Fly's names are snake_case; unset members are
/// left out of requests because Fly treats a present <c>null</c> differently from an absent field in places
/// (metadata upserts, for one). Unknown members are skipped, so fields Fly adds later do not break reads.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(FlyMachine))]
[JsonSerializable(typeof(List<FlyMachine>))]
[JsonSerializable(typeof(List<FlyMachineEvent>))]
[JsonSerializable(typeof(FlyStartMachineResponse))]
[JsonSerializable(typeof(FlyWaitResponse))]
[JsonSerializable(typeof(FlyOkResponse))]
[JsonSerializable(typeof(CreateMachineRequest))]
[JsonSerializable(typeof(UpdateMachineRequest))]
[JsonSerializable(typeof(StopMachineRequest))]
[JsonSerializable(typeof(SignalMachineRequest))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(FlyMetadataValue))]
[JsonSerializable(typeof(CreateLeaseRequest))]
[JsonSerializable(typeof(FlyLeaseResponse))]
[JsonSerializable(typeof(FlyLeaseReleaseResponse))]
[JsonSerializable(typeof(FlyApp))]
[JsonSerializable(typeof(FlyAppList))]
[JsonSerializable(typeof(CreateAppRequest))]
[JsonSerializable(typeof(FlyCreateAppResponse))]
[JsonSerializable(typeof(FlyVolume))]
[JsonSerializable(typeof(List<FlyVolume>))]
[JsonSerializable(typeof(CreateVolumeRequest))]
[JsonSerializable(typeof(UpdateVolumeRequest))]
[JsonSerializable(typeof(ExtendVolumeRequest))]
[JsonSerializable(typeof(FlyExtendVolumeResponse))]
[JsonSerializable(typeof(List<FlyVolumeSnapshot>))]
[JsonSerializable(typeof(FlyCreateSnapshotResponse))]
[JsonSerializable(typeof(CreateIpAssignmentRequest))]
[JsonSerializable(typeof(FlyIpAssignment))]
[JsonSerializable(typeof(FlyIpAssignmentList))]
public sealed partial class FlyJsonContext : JsonSerializerContext;

/// <summary>
/// <c>autostop</c> is a string enum (<c>off</c>, <c>stop</c>, <c>suspend</c>) that Fly still answers with as a
/// boolean for the first two; both read as the string form.
/// </summary>
internal sealed class FlyAutostopJsonConverter : JsonConverter<string?>
{
    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.True => "stop",
        JsonTokenType.False => "off",
        JsonTokenType.String => reader.GetString(),
        _ => throw new JsonException($"Unexpected token {reader.TokenType} for autostop."),
    };

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

/// <summary>
/// Go durations arrive as strings (<c>"10s"</c>) from the API but as integer nanoseconds from some Go
/// marshalers (fly-go accepts both); both read as the string form.
/// </summary>
internal sealed class GoDurationJsonConverter : JsonConverter<string?>
{
    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => FlyDurations.ToGo(TimeSpan.FromTicks(reader.GetInt64() / 100)),
        _ => throw new JsonException($"Unexpected token {reader.TokenType} for a duration."),
    };

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

/// <summary>Conversions between <see cref="TimeSpan"/> and the Go duration strings Fly reads.</summary>
public static class FlyDurations
{
    /// <summary>Formats as whole milliseconds or seconds (<c>1500ms</c>, <c>30s</c>), which Go's <c>time.ParseDuration</c> reads.</summary>
    public static string ToGo(TimeSpan value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
        return value.Ticks % TimeSpan.TicksPerSecond == 0
            ? ((long)value.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s"
            : ((long)Math.Ceiling(value.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture) + "ms";
    }
}
