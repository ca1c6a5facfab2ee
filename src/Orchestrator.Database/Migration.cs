using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Database;

/// <summary>One schema migration: the SQL of an embedded <c>Migrations/NNNN_name.sql</c> file.</summary>
/// <param name="Version">The file's number; versions run 1, 2, 3, ... without gaps.</param>
/// <param name="Name">The file name between the number and <c>.sql</c>, e.g. <c>orleans_main</c>.</param>
/// <param name="Sql">The statements, run in one transaction together with the other pending migrations.</param>
/// <param name="Checksum">Lower-case hex SHA-256 of <paramref name="Sql"/>; recorded when applied.</param>
public sealed record Migration(int Version, string Name, string Sql, string Checksum)
{
    /// <summary>The file name without extension, e.g. <c>0001_orleans_main</c>.</summary>
    public string Id => $"{Version:D4}_{Name}";

    /// <summary>Creates a migration, computing its checksum from the SQL.</summary>
    public static Migration FromSql(int version, string name, string sql)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(version);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(sql);

        var normalized = Normalize(sql);
        return new Migration(version, name, normalized, ComputeChecksum(normalized));
    }

    /// <summary>Lower-case hex SHA-256 of the UTF-8 bytes of <paramref name="sql"/>.</summary>
    public static string ComputeChecksum(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));
    }

    // A checkout with CRLF line endings or an editor's BOM must not look like an edited migration,
    // or a Windows build would refuse a database created by a Linux one.
    private static string Normalize(string sql) =>
        sql.TrimStart('\uFEFF').ReplaceLineEndings("\n");
}
