namespace Orchestrator.Workflows;

/// <summary>
/// Where each field of a definition was written, by path (<c>steps[2].with.command</c>). Kept apart
/// from the records so that a definition read from YAML equals the same one read from JSON.
/// </summary>
public sealed class SourceMap
{
    private readonly Dictionary<string, SourceLocation> _locations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SourceLocation> _keys = new(StringComparer.Ordinal);

    internal void Add(string path, SourceLocation location) => _locations.TryAdd(path, location);

    internal void AddKey(string path, SourceLocation location) => _keys.TryAdd(path, location);

    /// <summary>Where the key of the field at <paramref name="path"/> was written (for "unknown name" errors), else <see cref="Find"/>.</summary>
    public SourceLocation FindKey(string path) => _keys.TryGetValue(path, out var location) ? location : Find(path);

    /// <summary>The location of <paramref name="path"/>, or of its nearest recorded ancestor (a missing field is reported where its parent is).</summary>
    public SourceLocation Find(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        while (true)
        {
            if (_locations.TryGetValue(path, out var location))
            {
                return location;
            }

            if (path.Length == 0)
            {
                return SourceLocation.None;
            }

            path = Parent(path);
        }
    }

    public static string Child(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    public static string Index(string path, int index) => $"{path}[{index}]";

    private static string Parent(string path)
    {
        var cut = path.EndsWith(']') ? path.LastIndexOf('[') : path.LastIndexOf('.');
        return cut <= 0 ? "" : path[..cut];
    }
}
