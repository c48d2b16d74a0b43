//! The HTML document around the app. Its `<head>` is rendered per request and never hydrated, so
//! it is where the per-request session token and the all.js script go.

use leptos::prelude::*;

use crate::auth::ShellContext;
use crate::pages::App;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let ctx = use_context::<ShellContext>().unwrap_or_default();
    let css = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="token" content=ctx.session_token />
                <title>"Preferences"</title>
                <link rel="icon" href="data:," />
                <link rel="stylesheet" href=css />
                // A classic script: AP exists before the module script that hydrates runs.
                <script src=ctx.all_js_url data-options="sizeToParent:true"></script>
                {hydration_scripts(options)}
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The hydration bootstrap (module preloads and an inline module script). The server renders it
/// alone at start-up too: the page's CSP allows that inline script by its hash.
pub fn hydration_scripts(options: LeptosOptions) -> impl IntoView {
    view! { <HydrationScripts options /> }
}
