using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Orchestrator.Hosting;

/// <summary>
/// Settings shared by the silo and the standalone gateway: which cluster to join and where its
/// membership lives. Read and checked before any host is built, so that a bad value stops the process
/// with one line instead of a stack trace (see <see cref="StartupFailure"/>).
/// </summary>
public sealed record ClusterSettings(string ClusterId, string ServiceId, string? ConnectionString)
{
    public const string Section = "Orchestrator";
    public const string ConnectionStringName = "Orchestrator";
    public const string ConnectionStringKey = "ConnectionStrings:" + ConnectionStringName;
    public const string DefaultClusterId = "orchestrator";
    public const string DefaultServiceId = "orchestrator";

    /// <summary>Orleans' ADO.NET providers look up the PostgreSQL client factory by this name.</summary>
    public const string AdoNetInvariant = "Npgsql";

    public bool UsesPostgres => ConnectionString is not null;

    /// <summary>Reads and validates; every problem found is added to <paramref name="errors"/>.</summary>
    public static ClusterSettings Read(IConfiguration configuration, ICollection<ConfigurationProblem> errors)
    {
        var clusterId = ReadIdentifier(configuration, $"{Section}:ClusterId", DefaultClusterId, errors);
        var serviceId = ReadIdentifier(configuration, $"{Section}:ServiceId", DefaultServiceId, errors);
        var connectionString = configuration.GetConnectionString(ConnectionStringName);
        if (connectionString is not null)
        {
            if (ValidateConnectionString(connectionString) is { } problem)
            {
                errors.Add(new(ConnectionStringKey, problem));
            }
        }

        return new ClusterSettings(clusterId, serviceId, string.IsNullOrWhiteSpace(connectionString) ? null : connectionString);
    }

    /// <summary>Returns <see langword="null"/> for a usable PostgreSQL connection string, else what is wrong with it.</summary>
    public static string? ValidateConnectionString(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return "is empty; remove it for the dev profile or give a PostgreSQL connection string such as 'Host=db;Database=orchestrator;Username=orchestrator;Password=...'";
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            // Npgsql's message names the bad keyword; the value itself may hold a password, so it is not echoed.
            return $"is not a valid PostgreSQL connection string ({ex.Message.TrimEnd('.')})";
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            return "names no Host";
        }

        return null;
    }

    private static string ReadIdentifier(IConfiguration configuration, string key, string fallback, ICollection<ConfigurationProblem> errors)
    {
        var value = configuration[key];
        if (value is null)
        {
            return fallback;
        }

        if (value.Length is 0 or > 64 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            errors.Add(new(key, "must be 1 to 64 characters of letters, digits, '-', '_' or '.'"));
            return fallback;
        }

        return value;
    }
}

/// <summary>One bad setting: its configuration key (as a user would write it) and what is wrong.</summary>
public sealed record ConfigurationProblem(string Key, string Problem)
{
    public override string ToString() => $"{Key} {Problem}";
}
