# The game CLI as an image (used by the `app` profile of docker-compose.yml for `game api` and
# `game stream`). Build: docker build -t game:local .
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` build runs below, once the sources are copied.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npx tsc -p tsconfig.build.json && node scripts/manifest.js && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production \
    GAME_HOME=/data \
    CI=1
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/oclif.manifest.json ./
COPY package.json docker-compose.yml ./
COPY bin ./bin
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 5000
ENTRYPOINT ["node", "/app/bin/run.js"]
CMD ["--help"]
