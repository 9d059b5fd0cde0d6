export * from './metrics.js'
export * from './request.js'
export * from './server.js'
