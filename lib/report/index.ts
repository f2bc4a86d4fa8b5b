/**
 * Reporting for notebooks and scripts: inline display in tslab, plotly figures (HTML/PNG/SVG
 * export via headless Chromium), image grids (PNG via sharp) and results tables (typed long-form
 * rows, CSV + pivoted Markdown). Every file is written atomically.
 */
export * from './display';
export * from './figures';
export * from './grid';
export * from './tables';
export * from './progress';
export * from './training_curve';
