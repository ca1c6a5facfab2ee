# syntax=docker/dockerfile:1
# One image for both roles: the silo (default) and the standalone gateway
# (`docker run ... dotnet Orchestrator.Gateway.dll`).

# The web console: Debian 12's own Node.js is too old for Vite, so it is built in Node's image.
FROM node:20-bookworm-slim AS console
WORKDIR /web
COPY src/Orchestrator.Web/package.json src/Orchestrator.Web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY src/Orchestrator.Web/ ./
RUN npm run build

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig Orchestrator.sln ./
COPY grains/ grains/
COPY src/ src/
COPY silo/ silo/
COPY --from=console /web/dist/ src/Orchestrator.Web/dist/
RUN dotnet publish silo/Orchestrator.Silo/Orchestrator.Silo.csproj -c Release -o /app/silo --nologo -p:BuildConsole=false \
 && dotnet publish src/Orchestrator.Gateway/Orchestrator.Gateway.csproj -c Release -o /app/gateway --nologo -p:BuildConsole=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# A fixed unprivileged user: the process needs no root for anything it does.
RUN groupadd --system --gid 10001 orchestrator \
 && useradd --system --uid 10001 --gid orchestrator --home-dir /app --shell /usr/sbin/nologin orchestrator
WORKDIR /app
COPY --from=build --chown=orchestrator:orchestrator /app/silo/ ./
COPY --from=build --chown=orchestrator:orchestrator /app/gateway/Orchestrator.Gateway.dll /app/gateway/Orchestrator.Gateway.deps.json /app/gateway/Orchestrator.Gateway.runtimeconfig.json ./
USER orchestrator
ENV DOTNET_gcServer=1
# 8080 HTTP (API, /health, /dashboard), 11111 silo-to-silo, 30000 Orleans client gateway.
EXPOSE 8080 11111 30000
ENTRYPOINT ["dotnet"]
CMD ["Orchestrator.Silo.dll"]
