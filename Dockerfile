# syntax=docker/dockerfile:1
# Node 24, the LTS line package.json's engines names (README, "Runtime").
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/guard/package.json ./packages/guard/
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY packages/guard ./packages/guard
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
# The CLI (bin/sigauth.js, dist/src) loads the guard package's DPoP check through the workspace link.
COPY --from=build /app/packages/guard/package.json ./packages/guard/
COPY --from=build /app/packages/guard/dist ./packages/guard/dist
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/bin ./bin
# The embedded database (used when DATABASE_URL is unset) lives on a volume only its user can
# reach (it holds the signing keys). 1000 is the node user of the node images, numeric so that
# Kubernetes' runAsNonRoot can check it.
RUN mkdir -p data && chown 1000:1000 data && chmod 700 data
VOLUME /app/data
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT ?? 3000}/health/ready`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/server/main.js"]
