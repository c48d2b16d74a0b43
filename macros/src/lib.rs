//! `#[api(...)]` re-emits `#[leptos::server(client = crate::client::AuthClient, ...)]`, so every
//! server function sends `Authorization: JWT <token>` and no declaration can forget it. Any other
//! `#[server]` argument (endpoint, input, output) passes through unchanged.

use proc_macro::TokenStream;
use quote::quote;

#[proc_macro_attribute]
pub fn api(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let item = proc_macro2::TokenStream::from(item);
    let extra = if args.is_empty() {
        quote!()
    } else {
        quote!(, #args)
    };
    quote!(
        #[::leptos::server(prefix = "/api", client = crate::client::AuthClient #extra)]
        #item
    )
    .into()
}
