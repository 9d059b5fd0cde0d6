export * from './catalog.js'
export * from './envelope.js'
export * from './route.js'
export * from './validate.js'
