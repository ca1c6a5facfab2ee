using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.Limits;
using Orchestrator.Hosting;

namespace Orchestrator.Silo.Hosting;

/// <summary>Where the silo keeps its membership, state and reminders; see the README's profile table.</summary>
public enum SiloProfile
{
    /// <summary>Localhost clustering, state and reminders in memory. Nothing survives a restart.</summary>
    Dev,

    /// <summary>Clustering, grain state and reminders on PostgreSQL.</summary>
    Postgres,

    /// <summary>As <see cref="Postgres"/>, advertising the Fly machine's private IPv6 and tagging its region.</summary>
    Fly,
}

/// <summary>
/// The silo's settings, resolved and validated from configuration before the host is built, so that
/// a bad value stops the process with one line naming it.
/// </summary>
public sealed record SiloSettings(
    SiloProfile Profile,
    ClusterSettings Cluster,
    int SiloPort,
    int GatewayPort,
    IPAddress? AdvertisedAddress,
    string Region,
    string? SiloName,
    TimeSpan DatabaseStartupTimeout,
    AuthSettings Auth,
    HttpLimitSettings Limits)
{
    public const string ProfileKey = ClusterSettings.Section + ":Profile";
    public const string SiloPortKey = ClusterSettings.Section + ":SiloPort";
    public const string GatewayPortKey = ClusterSettings.Section + ":GatewayPort";
    public const string AdvertisedAddressKey = ClusterSettings.Section + ":AdvertisedIPAddress";
    public const string RegionKey = ClusterSettings.Section + ":Region";
    public const string DatabaseStartupTimeoutKey = ClusterSettings.Section + ":DatabaseStartupTimeout";
    public const string FlyAppNameKey = "FLY_APP_NAME";
    public const string FlyPrivateIpKey = "FLY_PRIVATE_IP";
    public const string FlyRegionKey = "FLY_REGION";
    public const string FlyMachineIdKey = "FLY_MACHINE_ID";

    public const int DefaultSiloPort = 11111;
    public const int DefaultGatewayPort = 30000;
    public static readonly TimeSpan DefaultDatabaseStartupTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Reads every setting; throws <see cref="StartupFailureException"/> listing all that are wrong.</summary>
    public static SiloSettings Read(IConfiguration configuration)
    {
        var problems = new List<ConfigurationProblem>();
        var cluster = ClusterSettings.Read(configuration, problems);
        var profile = ReadProfile(configuration, cluster, problems);
        var siloPort = HostPorts.Read(configuration, SiloPortKey, DefaultSiloPort, problems);
        var gatewayPort = HostPorts.Read(configuration, GatewayPortKey, DefaultGatewayPort, problems);
        if (siloPort == gatewayPort)
        {
            problems.Add(new(GatewayPortKey, $"must differ from {SiloPortKey} (both are {siloPort})"));
        }

        var advertised = ReadAddress(configuration, AdvertisedAddressKey, problems);
        var region = configuration[RegionKey] ?? "local";
        var siloName = configuration[FlyMachineIdKey];
        if (profile == SiloProfile.Fly)
        {
            advertised = ReadFlyPrivateIp(configuration, problems);
            region = ReadFlyRegion(configuration, problems);
        }
        else if (!IsRegion(region))
        {
            problems.Add(new(RegionKey, $"must be 2 to 16 lowercase letters or digits (got '{region}')"));
        }

        var databaseTimeout = ReadTimeout(configuration, DatabaseStartupTimeoutKey, DefaultDatabaseStartupTimeout, problems);
        var auth = AuthSettings.Read(configuration, profile == SiloProfile.Dev, problems);
        var limits = HttpLimitSettings.Read(configuration, problems);
        if (problems.Count > 0)
        {
            throw StartupFailureException.FromProblems(problems);
        }

        return new SiloSettings(profile, cluster, siloPort, gatewayPort, advertised, region, siloName, databaseTimeout, auth, limits);
    }

    private static SiloProfile ReadProfile(IConfiguration configuration, ClusterSettings cluster, List<ConfigurationProblem> problems)
    {
        var value = configuration[ProfileKey];
        SiloProfile profile;
        if (string.IsNullOrEmpty(value))
        {
            // Fly sets FLY_APP_NAME on every machine; a connection string alone means a self-hosted PostgreSQL.
            profile = configuration[FlyAppNameKey] is not null && cluster.UsesPostgres ? SiloProfile.Fly
                : cluster.UsesPostgres ? SiloProfile.Postgres
                : SiloProfile.Dev;
        }
        else if (!Enum.TryParse(value, ignoreCase: true, out profile) || !Enum.IsDefined(profile) || value.Any(char.IsDigit))
        {
            problems.Add(new(ProfileKey, $"must be one of dev, postgres, fly (got '{value}')"));
            return SiloProfile.Dev;
        }

        if (profile != SiloProfile.Dev && !cluster.UsesPostgres && !problems.Any(p => p.Key == ClusterSettings.ConnectionStringKey))
        {
            problems.Add(new(ClusterSettings.ConnectionStringKey, $"is required for the {profile.ToString().ToLowerInvariant()} profile (set ConnectionStrings__Orchestrator)"));
        }

        if (profile == SiloProfile.Dev && cluster.UsesPostgres)
        {
            problems.Add(new(ProfileKey, "is 'dev', which keeps state in memory, but ConnectionStrings:Orchestrator is set; remove one of them"));
        }

        return profile;
    }

    private static IPAddress? ReadAddress(IConfiguration configuration, string key, List<ConfigurationProblem> problems)
    {
        var value = configuration[key];
        if (value is null)
        {
            return null;
        }

        if (!IPAddress.TryParse(value, out var address))
        {
            problems.Add(new(key, $"must be an IP address (got '{value}')"));
        }

        return address;
    }

    private static IPAddress? ReadFlyPrivateIp(IConfiguration configuration, List<ConfigurationProblem> problems)
    {
        var value = configuration[FlyPrivateIpKey];
        if (string.IsNullOrEmpty(value))
        {
            problems.Add(new(FlyPrivateIpKey, "is required for the fly profile (Fly sets it on every machine: the 6PN private IPv6 address)"));
            return null;
        }

        if (!IPAddress.TryParse(value, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            problems.Add(new(FlyPrivateIpKey, $"must be an IPv6 address (got '{value}')"));
            return null;
        }

        return address;
    }

    private static string ReadFlyRegion(IConfiguration configuration, List<ConfigurationProblem> problems)
    {
        var value = configuration[FlyRegionKey];
        if (string.IsNullOrEmpty(value))
        {
            problems.Add(new(FlyRegionKey, "is required for the fly profile (Fly sets it on every machine, e.g. 'ams')"));
            return "unknown";
        }

        if (!IsRegion(value))
        {
            problems.Add(new(FlyRegionKey, $"must be 2 to 16 lowercase letters or digits (got '{value}')"));
        }

        return value;
    }

    private static bool IsRegion(string value) =>
        value.Length is >= 2 and <= 16 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c));

    private static TimeSpan ReadTimeout(IConfiguration configuration, string key, TimeSpan fallback, List<ConfigurationProblem> problems)
    {
        var value = configuration[key];
        if (value is null)
        {
            return fallback;
        }

        if (!TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var timeout) || timeout < TimeSpan.Zero || timeout > TimeSpan.FromMinutes(10))
        {
            problems.Add(new(key, $"must be a duration from 00:00:00 to 00:10:00 (got '{value}')"));
            return fallback;
        }

        return timeout;
    }
}
