using System.Text.Json;
using Orchestrator.Grains.Instances;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// Reads the create body by hand: <c>size</c> is a string or an object, and every type error must name its field
/// (a model binder would answer with a generic deserialization failure).
/// </summary>
internal static class InstanceRequestParser
{
    private static readonly HashSet<string> Known = ["name", "region", "size", "image", "env", "volume", "public_ip"];
    private static readonly HashSet<string> SizeFields = ["cpus", "memory_mb", "cpu_kind"];
    private static readonly HashSet<string> VolumeFields = ["size_gb", "path", "id"];

    public static (InstanceSpec? Spec, (string Field, string Problem)? Problem) Parse(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, ("body", "must be a JSON object"));
        }

        foreach (var property in body.EnumerateObject())
        {
            if (!Known.Contains(property.Name))
            {
                return (null, (property.Name, "is not a known field"));
            }
        }

        if (!TryString(body, "name", out var name, out var problem) || !TryString(body, "region", out var region, out problem)
            || !TryString(body, "image", out var image, out problem))
        {
            return (null, problem);
        }

        InstanceSize? size = null;
        if (body.TryGetProperty("size", out var sizeElement) && !TryParseSize(sizeElement, out size, out problem))
        {
            return (null, problem);
        }

        Dictionary<string, string>? env = null;
        if (body.TryGetProperty("env", out var envElement) && envElement.ValueKind != JsonValueKind.Null)
        {
            if (envElement.ValueKind != JsonValueKind.Object)
            {
                return (null, ("env", "must be an object of string values"));
            }

            env = [];
            foreach (var entry in envElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                {
                    return (null, ($"env.{entry.Name}", "must be a string"));
                }

                env[entry.Name] = entry.Value.GetString()!;
            }
        }

        InstanceVolumeSpec? volume = null;
        if (body.TryGetProperty("volume", out var volumeElement) && volumeElement.ValueKind != JsonValueKind.Null)
        {
            if (volumeElement.ValueKind != JsonValueKind.Object)
            {
                return (null, ("volume", "must be {size_gb, path} or {id, path}"));
            }

            if (UnknownField(volumeElement, "volume", VolumeFields) is { } unknown)
            {
                return (null, unknown);
            }

            if (!TryInt(volumeElement, "size_gb", "volume.size_gb", out var sizeGb, out problem) || !TryString(volumeElement, "path", out var path, out problem, "volume.path")
                || !TryString(volumeElement, "id", out var volumeId, out problem, "volume.id"))
            {
                return (null, problem);
            }

            if (volumeId is not null && sizeGb is not null)
            {
                return (null, ("volume", "is either {size_gb, path} (a new volume) or {id, path} (a kept one), not both"));
            }

            volume = volumeId is not null ? InstanceVolumeSpec.Existing(volumeId, path ?? "") : new InstanceVolumeSpec(sizeGb ?? 0, path ?? "");
        }

        var publicIp = false;
        if (body.TryGetProperty("public_ip", out var ipElement) && ipElement.ValueKind != JsonValueKind.Null)
        {
            if (ipElement.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return (null, ("public_ip", "must be true or false"));
            }

            publicIp = ipElement.GetBoolean();
        }

        return (new InstanceSpec(name ?? "", region ?? "", size!, image, env, volume, publicIp), null);
    }

    /// <summary>
    /// Reads a size: a preset name, or <c>{cpus, memory_mb, cpu_kind}</c>; null (JSON null) when absent. Problems name
    /// <c>size</c> or its member.
    /// </summary>
    public static bool TryParseSize(JsonElement element, out InstanceSize? size, out (string Field, string Problem)? problem)
    {
        size = null;
        problem = null;
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                size = new InstanceSize(element.GetString());
                return true;
            case JsonValueKind.Object:
                if (UnknownField(element, "size", SizeFields) is { } unknown)
                {
                    problem = unknown;
                    return false;
                }

                if (!TryInt(element, "cpus", "size.cpus", out var cpus, out problem) || !TryInt(element, "memory_mb", "size.memory_mb", out var memory, out problem)
                    || !TryString(element, "cpu_kind", out var kind, out problem, "size.cpu_kind"))
                {
                    return false;
                }

                size = new InstanceSize(null, cpus ?? 0, memory ?? 0, kind);
                return true;
            case JsonValueKind.Null:
                return true;
            default:
                problem = ("size", "must be a preset name or {cpus, memory_mb, cpu_kind}");
                return false;
        }
    }

    /// <summary>The first member of <paramref name="element"/> that is not one of <paramref name="known"/>, as a problem naming it.</summary>
    public static (string Field, string Problem)? UnknownField(JsonElement element, string prefix, IReadOnlySet<string> known)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (!known.Contains(property.Name))
            {
                return (prefix.Length == 0 ? property.Name : $"{prefix}.{property.Name}", "is not a known field");
            }
        }

        return null;
    }

    public static bool TryInt(JsonElement parent, string name, string field, out int? value, out (string, string)? problem)
    {
        value = null;
        problem = null;
        if (!parent.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out var number))
        {
            problem = (field, "must be a whole number");
            return false;
        }

        value = number;
        return true;
    }

    private static bool TryString(JsonElement parent, string name, out string? value, out (string, string)? problem, string? field = null)
    {
        value = null;
        problem = null;
        if (!parent.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            problem = (field ?? name, "must be a string");
            return false;
        }

        value = element.GetString();
        return true;
    }
}
