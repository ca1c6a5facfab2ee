using System.Collections.Frozen;
using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;

namespace Orchestrator.Gateway.WebConsole;

/// <summary>One built file of the console, with its compressed forms made once at start.</summary>
internal sealed record ConsoleAsset(string Path, string ContentType, string ETag, byte[] Identity, byte[]? Gzip, byte[]? Brotli)
{
    /// <summary>Vite puts a content hash in every name under <c>assets/</c>: those may be cached for good.</summary>
    public bool Immutable => Path.StartsWith("assets/", StringComparison.Ordinal);
}

/// <summary>
/// The web console's built files, embedded in the gateway assembly by its build (<c>ui/...</c> resources), so the
/// co-hosted gateway and the standalone one serve the same console without a files directory to deploy.
/// </summary>
internal sealed class ConsoleAssets
{
    public const string ResourcePrefix = "ui/";
    public const string IndexPath = "index.html";

    // Text that compresses well; images and fonts are left as they are.
    private static readonly FrozenSet<string> s_compressible = FrozenSet.ToFrozenSet(
        [".html", ".js", ".css", ".json", ".svg", ".map", ".txt", ".webmanifest"], StringComparer.OrdinalIgnoreCase);

    private readonly FrozenDictionary<string, ConsoleAsset> _assets;

    public ConsoleAssets()
        : this(typeof(ConsoleAssets).Assembly)
    {
    }

    internal ConsoleAssets(Assembly assembly)
    {
        var types = new FileExtensionContentTypeProvider();
        var assets = new Dictionary<string, ConsoleAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(static n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var bytes = buffer.ToArray();
            var path = name[ResourcePrefix.Length..];
            var type = types.TryGetContentType(path, out var known) ? known : "application/octet-stream";
            if (type.StartsWith("text/", StringComparison.Ordinal) || type is "application/javascript" or "text/javascript")
            {
                type += "; charset=utf-8";
            }

            var compress = s_compressible.Contains(System.IO.Path.GetExtension(path)) && bytes.Length > 256;
            assets[path] = new ConsoleAsset(
                path,
                type,
                $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 12))}\"",
                bytes,
                compress ? Compress(bytes, static s => new GZipStream(s, CompressionLevel.SmallestSize, leaveOpen: true)) : null,
                compress ? Compress(bytes, static s => new BrotliStream(s, CompressionLevel.SmallestSize, leaveOpen: true)) : null);
        }

        _assets = assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>False when the gateway was built without the console (<c>-p:BuildConsole=false</c>).</summary>
    public bool Available => _assets.ContainsKey(IndexPath);

    public int Count => _assets.Count;

    public ConsoleAsset? Find(string path) => _assets.GetValueOrDefault(path);

    private static byte[] Compress(byte[] bytes, Func<Stream, Stream> compressor)
    {
        using var output = new MemoryStream();
        using (var compressing = compressor(output))
        {
            compressing.Write(bytes);
        }

        return output.ToArray();
    }
}
