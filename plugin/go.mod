module github.com/ferrylog/ferry/plugin

go 1.26
