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
        if (body.TryGetProperty("size", out var sizeElement))
        {
            switch (sizeElement.ValueKind)
            {
                case JsonValueKind.String:
                    size = new InstanceSize(sizeElement.GetString());
                    break;
                case JsonValueKind.Object:
                    if (!TryInt(sizeElement, "cpus", "size.cpus", out var cpus, out problem) || !TryInt(sizeElement, "memory_mb", "size.memory_mb", out var memory, out problem)
                        || !TryString(sizeElement, "cpu_kind", out var kind, out problem, "size.cpu_kind"))
                    {
                        return (null, problem);
                    }

                    size = new InstanceSize(null, cpus ?? 0, memory ?? 0, kind);
                    break;
                case JsonValueKind.Null:
                    break;
                default:
                    return (null, ("size", "must be a preset name or {cpus, memory_mb, cpu_kind}"));
            }
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
                return (null, ("volume", "must be {size_gb, path}"));
            }

            if (!TryInt(volumeElement, "size_gb", "volume.size_gb", out var sizeGb, out problem) || !TryString(volumeElement, "path", out var path, out problem, "volume.path"))
            {
                return (null, problem);
            }

            volume = new InstanceVolumeSpec(sizeGb ?? 0, path ?? "");
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

    private static bool TryInt(JsonElement parent, string name, string field, out int? value, out (string, string)? problem)
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
}
