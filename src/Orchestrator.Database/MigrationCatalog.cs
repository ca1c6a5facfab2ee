using System.Collections.ObjectModel;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Orchestrator.Database;

/// <summary>
/// The ordered, immutable set of schema migrations a build knows. Adding a table means adding the next
/// <c>Migrations/NNNN_name.sql</c> file; never edit one that has shipped, since databases record each
/// applied file's checksum and refuse a changed one. Pending files run together in one transaction, so a
/// file must not manage transactions itself nor use statements PostgreSQL refuses inside one
/// (<c>CREATE INDEX CONCURRENTLY</c>, <c>VACUUM</c>, <c>ALTER TYPE ... ADD VALUE</c> before PostgreSQL 12).
/// </summary>
public sealed partial class MigrationCatalog
{
    /// <summary>Prefix of the embedded resource names (set by LogicalName in the csproj).</summary>
    public const string ResourcePrefix = "Orchestrator.Database.Migrations.";

    private readonly Migration[] _migrations;
    private readonly ReadOnlyCollection<Migration> _readOnlyMigrations;

    /// <summary>Builds a catalog; versions must be unique and run 1, 2, 3, ... without gaps.</summary>
    public MigrationCatalog(IEnumerable<Migration> migrations)
    {
        ArgumentNullException.ThrowIfNull(migrations);

        _migrations = [.. migrations.OrderBy(m => m.Version)];
        for (var i = 0; i < _migrations.Length; i++)
        {
            // A gap or a duplicate is almost always two branches that both added "the next" migration:
            // fail the build's tests and every start rather than apply them in an accidental order.
            if (_migrations[i].Version != i + 1)
            {
                throw new InvalidOperationException(
                    $"Schema migrations must be numbered 1, 2, 3, ... without gaps or duplicates; expected version {i + 1} but found {_migrations[i].Id}.");
            }
        }

        _readOnlyMigrations = Array.AsReadOnly(_migrations);
    }

    /// <summary>The migrations embedded in this assembly.</summary>
    public static MigrationCatalog Embedded { get; } = FromAssembly(typeof(MigrationCatalog).Assembly, ResourcePrefix);

    /// <summary>All migrations in version order.</summary>
    public IReadOnlyList<Migration> Migrations => _readOnlyMigrations;

    /// <summary>The highest version, or 0 for an empty catalog.</summary>
    public int LatestVersion => _migrations.Length == 0 ? 0 : _migrations[^1].Version;

    /// <summary>Reads every embedded resource named <paramref name="resourcePrefix"/><c>NNNN_name.sql</c>.</summary>
    public static MigrationCatalog FromAssembly(Assembly assembly, string resourcePrefix)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentException.ThrowIfNullOrEmpty(resourcePrefix);

        var migrations = new List<Migration>();
        foreach (var resourceName in assembly.GetManifestResourceNames())
        {
            if (!resourceName.StartsWith(resourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var fileName = resourceName[resourcePrefix.Length..];
            var match = FileNamePattern().Match(fileName);
            if (!match.Success)
            {
                // A misnamed file would otherwise never run, silently.
                throw new InvalidOperationException(
                    $"Embedded migration '{fileName}' is not named NNNN_name.sql (four digits, then lower-case letters, digits or underscores).");
            }

            using var stream = assembly.GetManifestResourceStream(resourceName)
                ?? throw new InvalidOperationException($"Embedded resource '{resourceName}' could not be opened.");
            using var reader = new StreamReader(stream);
            migrations.Add(Migration.FromSql(
                int.Parse(match.Groups["version"].Value, NumberStyles.None, CultureInfo.InvariantCulture),
                match.Groups["name"].Value,
                reader.ReadToEnd()));
        }

        return new MigrationCatalog(migrations);
    }

    [GeneratedRegex(@"^(?<version>[0-9]{4})_(?<name>[a-z0-9_]+)\.sql$", RegexOptions.CultureInvariant)]
    private static partial Regex FileNamePattern();
}
