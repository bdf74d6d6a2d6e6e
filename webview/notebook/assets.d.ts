// Stylesheets the renderer bundle imports as text (scripts/build.mjs: loader "text" for .css).
declare module '*.css' {
  const text: string;
  export default text;
}
