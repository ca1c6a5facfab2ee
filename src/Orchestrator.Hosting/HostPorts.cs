using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Orchestrator.Hosting;

/// <summary>The TCP port settings both hosts read (the silo's silo and gateway ports, the standalone gateway's cluster port).</summary>
public static class HostPorts
{
    /// <summary>Reads a TCP port setting, recording a problem when it is not one.</summary>
    public static int Read(IConfiguration configuration, string key, int fallback, ICollection<ConfigurationProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(problems);
        var value = configuration[key];
        if (value is null)
        {
            return fallback;
        }

        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            problems.Add(new(key, $"must be a TCP port from 1 to 65535 (got '{value}')"));
            return fallback;
        }

        return port;
    }
}
