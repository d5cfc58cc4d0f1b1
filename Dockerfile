# syntax=docker/dockerfile:1
# Build: bundle the operator (scripts/bundle.ts) into one ES module with its dependencies in it,
# tree-shaken: the runtime image needs no node_modules, and the process stays small (docs/benchmarks.md).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY scripts/bundle.ts ./scripts/
COPY api ./api
COPY src ./src
RUN node scripts/bundle.ts

# Runtime: distroless Node.js 24, non-root numeric UID, nothing writable needed.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
COPY --from=build /src/dist/operator.mjs /src/dist/operator.mjs.LEGAL.txt ./
COPY crds ./crds
USER 65532:65532
ENV NODE_ENV=production
# Memory (docs/benchmarks.md, "Memory"): glibc serves allocations of 16 KiB and more with mmap, so the
# parser's and compiler's freed memory goes back to the OS instead of fragmenting the main arena;
# few malloc arenas; a 1 MiB young generation; no optimizing JIT tiers (the work is I/O-bound);
# V8's smaller heap-growing steps (--optimize-for-size).
# The benchmarks read these lines and the Deployment's NODE_OPTIONS, and run exactly that.
ENV MALLOC_MMAP_THRESHOLD_=16384 MALLOC_ARENA_MAX=2
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "--no-opt", "--no-maglev", "--optimize-for-size", "operator.mjs"]
CMD ["run"]
