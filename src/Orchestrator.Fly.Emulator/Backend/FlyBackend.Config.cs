using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Api;

namespace Orchestrator.Fly.Emulator.Backend;

/// <summary>Machine configs as create and update take them: validated, and echoed back with Fly's defaults.</summary>
internal sealed partial class FlyBackend
{
    /// <summary>Validates a machine config and returns it as it will be echoed back: as sent, with Fly's defaults filled in.</summary>
    private static Outcome<(JsonObject Config, Guest Guest, MachineConfigRequest Parsed)> PrepareConfig(JsonObject? config, string prefix)
    {
        if (config is null)
        {
            return FlyErrors.InvalidArgument("config is required");
        }

        var decoded = FlyJson.Decode<MachineConfigRequest>(config, "fly.MachineConfig");
        if (!decoded.IsSuccess)
        {
            return decoded.Failure!;
        }

        var parsed = decoded.Value!;
        if (string.IsNullOrWhiteSpace(parsed.Image))
        {
            return FlyErrors.InvalidArgument("config.image is required");
        }

        var guest = GuestSizes.Resolve(parsed.Guest, parsed.Size, "config.guest");
        if (!guest.IsSuccess)
        {
            var body = (ErrorBody)guest.Failure!.Body;
            return guest.Failure with { Body = body with { Error = $"{prefix}: {body.Error}" } };
        }

        foreach (var file in parsed.Files ?? [])
        {
            if (CheckFile(file) is { } fileFailure)
            {
                return fileFailure;
            }
        }

        if (parsed.Mounts is { Count: > 1 })
        {
            return FlyErrors.Unprocessable($"{prefix}: a machine can mount only one volume");
        }

        if (parsed.Mounts is [var mount] && (string.IsNullOrEmpty(mount.Volume) || mount.Path is not ['/', ..]))
        {
            return FlyErrors.InvalidArgument("config.mounts[0] needs a volume id and an absolute path");
        }

        if (parsed.Restart?.Policy is { } policy && policy is not ("" or "no" or "always" or "on-failure" or "spot-price"))
        {
            return FlyErrors.InvalidArgument($"config.restart.policy \"{policy}\" is not one of no, always, on-failure, spot-price");
        }

        if (parsed.Restart?.MaxRetries is < 0)
        {
            return FlyErrors.InvalidArgument("config.restart.max_retries must not be negative");
        }

        foreach (var (field, persist) in (ReadOnlySpan<(string, string?)>)[("config.rootfs.persist", parsed.Rootfs?.Persist), ("config.guest.persist_rootfs", parsed.Guest?.PersistRootfs)])
        {
            if (persist is not (null or "" or "never" or "restart" or "always"))
            {
                return FlyErrors.InvalidArgument($"{field} \"{persist}\" is not one of never, restart, always");
            }
        }

        var echoed = (JsonObject)config.DeepClone();
        var guestNode = echoed["guest"] as JsonObject ?? [];
        guestNode["cpu_kind"] = guest.Value!.CpuKind;
        guestNode["cpus"] = guest.Value.Cpus;
        guestNode["memory_mb"] = guest.Value.MemoryMb;
        echoed["guest"] = guestNode;
        var init = echoed["init"] as JsonObject ?? [];
        foreach (var key in (string[])["exec", "entrypoint", "cmd"])
        {
            if (!init.ContainsKey(key))
            {
                init[key] = null;
            }
        }

        if (!init.ContainsKey("tty"))
        {
            init["tty"] = false;
        }

        echoed["init"] = init;
        AddIfMissing(echoed, "env", null);
        AddIfMissing(echoed, "metadata", null);
        AddIfMissing(echoed, "restart", new JsonObject { ["policy"] = "" });
        AddIfMissing(echoed, "dns", new JsonObject());
        return (echoed, guest.Value, parsed);
    }

    private static FlyFailure? CheckFile(FileRequest file)
    {
        if (file.GuestPath is not ['/', ..])
        {
            return FlyErrors.InvalidArgument($"config.files: guest_path \"{file.GuestPath}\" must be an absolute path");
        }

        if (!string.IsNullOrEmpty(file.SecretName) || file.ImageConfig is not null)
        {
            return FlyErrors.Unprocessable($"config.files: {file.GuestPath}: secret_name and image_config files are not supported by the emulator; send raw_value");
        }

        if (file.RawValue is null)
        {
            return FlyErrors.InvalidArgument($"config.files: {file.GuestPath}: one of raw_value or secret_name must be set");
        }

        Span<byte> scratch = new byte[file.RawValue.Length];
        return Convert.TryFromBase64String(file.RawValue, scratch, out _)
            ? null
            : FlyErrors.InvalidArgument($"config.files: {file.GuestPath}: raw_value is not valid base64");
    }

    private static void AddIfMissing(JsonObject config, string key, JsonNode? value)
    {
        if (!config.ContainsKey(key))
        {
            config[key] = value;
        }
    }

    private static FlyFailure? CheckMount(AppRecord app, MountRequest mount, string region, string? machineId, out VolumeRecord volume)
    {
        if (!app.Volumes.TryGetValue(mount.Volume!, out volume!))
        {
            return FlyErrors.VolumeNotFound;
        }

        if (volume.Region != region)
        {
            return FlyErrors.Unprocessable($"Mounts source volume \"{volume.Id}\" is in the wrong region (\"{volume.Region}\" != \"{region}\")");
        }

        if (volume.AttachedMachineId is { } attached && attached != machineId)
        {
            return FlyErrors.FailedPrecondition($"volume {volume.Id} is currently attached to machine {attached}");
        }

        return volume.State == "created" || volume.State == "restoring"
            ? null
            : FlyErrors.FailedPrecondition($"volume {volume.Id} is {volume.State}");
    }

    private static Outcome<TimeSpan?> ParseDuration(JsonElement? value)
    {
        switch (value)
        {
            case null or { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined }:
                return (TimeSpan?)null;
            case { ValueKind: JsonValueKind.Number } number when number.TryGetInt64(out var nanoseconds) && nanoseconds >= 0:
                return (TimeSpan?)TimeSpan.FromTicks(nanoseconds / 100);
            case { ValueKind: JsonValueKind.Object } wrapped when wrapped.TryGetProperty("time.Duration", out var inner):
                return ParseDuration(inner);
            case { ValueKind: JsonValueKind.String } text when GoDuration.TryParse(text.GetString()!, out var duration):
                return (TimeSpan?)duration;
            default:
                return FlyErrors.InvalidArgument($"invalid duration {value.Value.GetRawText()}");
        }
    }
}
